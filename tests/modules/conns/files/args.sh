#!/bin/sh
# Prints its arguments one a line, so quoting through each connection shows.
echo "argc=$#"
for a in "$@"; do
	printf '[%s]\n' "$a"
done
echo "to stderr" >&2
