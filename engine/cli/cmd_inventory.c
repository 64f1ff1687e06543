#include "cli/cli.h"

#include <stdio.h>

int cmd_inventory(struct cli *c)
{
	(void)c;
	fprintf(stderr, "drover inventory: not implemented yet\n");
	return EXIT_ERROR;
}
