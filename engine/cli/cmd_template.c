#include "cli/cli.h"

#include <stdio.h>

int cmd_template(struct cli *c)
{
	(void)c;
	fprintf(stderr, "drover template: not implemented yet\n");
	return EXIT_ERROR;
}
