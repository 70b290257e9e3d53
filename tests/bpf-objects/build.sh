#!/bin/sh
# Rebuild the BPF test objects: tests/bpf-objects/src/NAME.c -> tests/bpf-objects/NAME.o
#
# Needs clang (14 or later) and the kernel UAPI headers (Debian: clang-14,
# linux-libc-dev). libbpf is not needed. The .o files are committed, so only
# run this after changing a source file, and commit the objects it writes.
#
# Usage: tests/bpf-objects/build.sh [--check]
#   --check  build into a temporary directory and fail if any object differs
#            from the committed one (use it to confirm the objects are current).
#
# Environment: CLANG=path/to/clang overrides the compiler (default: clang-14 if
# present, else clang).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

if [ -z "${CLANG:-}" ]; then
	if command -v clang-14 >/dev/null 2>&1; then CLANG=clang-14; else CLANG=clang; fi
fi

# <linux/types.h> includes <asm/types.h>, which Debian keeps under the
# multiarch directory; clang does not search it when targeting BPF.
multiarch=$("$CLANG" -print-multiarch 2>/dev/null || true)
arch_include=""
if [ -n "$multiarch" ] && [ -d "/usr/include/$multiarch" ]; then
	arch_include="-I/usr/include/$multiarch"
fi

out="$here"
check=0
if [ "${1:-}" = "--check" ]; then
	check=1
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi

# -g        emits BTF (.BTF and .BTF.ext) next to the DWARF.
# -mcpu=v3  allows JMP32 and ALU32 instructions (kernel 5.1+); fixed so that a
#           newer clang with another default still produces the same code.
# -fdebug-prefix-map / relative source paths keep the build directory out of
#           the object, so the bytes do not depend on where the tree is checked out.
for src in src/*.c; do
	name=$(basename "$src" .c)
	"$CLANG" -O2 -g -target bpf -mcpu=v3 \
		-Wall -Wno-unused-function -Werror \
		-fdebug-prefix-map="$here"=. \
		-fdebug-compilation-dir=. \
		$arch_include -Isrc \
		-c "$src" -o "$out/$name.o"
done

if [ "$check" = 1 ]; then
	status=0
	for obj in "$out"/*.o; do
		name=$(basename "$obj")
		if ! cmp -s "$obj" "$here/$name"; then
			echo "differs from the committed object: $name" >&2
			status=1
		fi
	done
	exit $status
fi

"$CLANG" --version | head -n 1 > clang-version.txt
