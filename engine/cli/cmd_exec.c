#include "cli/cli.h"

#include <stdio.h>

int cmd_exec(struct cli *c)
{
	(void)c;
	fprintf(stderr, "drover exec: not implemented yet\n");
	return EXIT_ERROR;
}
