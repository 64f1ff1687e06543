#!/bin/sh
echo "args: $*"
echo "stdin-free" >&2
exit ${EXIT:-0}
