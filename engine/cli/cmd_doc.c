#include "cli/cli.h"

#include <stdio.h>

int cmd_doc(struct cli *c)
{
	(void)c;
	fprintf(stderr, "drover doc: not implemented yet\n");
	return EXIT_ERROR;
}
