#include "cli/cli.h"

#include <stdio.h>

int cmd_run(struct cli *c)
{
	(void)c;
	fprintf(stderr, "drover run: not implemented yet\n");
	return EXIT_ERROR;
}
