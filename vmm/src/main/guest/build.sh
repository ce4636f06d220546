#!/usr/bin/env bash
# Builds Ferry's guest images from source into OUTDIR (the Maven build passes
# target/classes/guests, so they load as classpath resources /guests/NAME).
#
#   hello-bootsector.bin  512-byte boot sector, COM1 hello
#   triple-fault.bin      512-byte boot sector that triple-faults
#   hello-longmode.bin    flat 64-bit payload for 0x100000
#   longmode-shim.elf     Multiboot kernel that starts hello-longmode.bin under QEMU (tests only)
#   workload.elf          Multiboot v1 kernel: dirty-page workload with a 1 kHz heartbeat
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1

for tool in gcc as ld objcopy; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "ferry guests: '$tool' not found: install binutils/gcc (Debian: apt-get install -y binutils gcc)" >&2
        exit 1
    fi
done

here=${BASH_SOURCE[0]}
if [[ $here == */* ]]; then here=${here%/*}; else here=.; fi
src=$(cd "$here" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# .S files go through gcc for the C preprocessor (common/ports.h); no libc, no PIC, no stack
# protector or CET notes, no SSE: the guests run before anything of that exists.
cflags=(-ffreestanding -nostdinc -nostdlib -fno-pic -fno-pie -fno-stack-protector -fcf-protection=none
        -fno-asynchronous-unwind-tables -fno-builtin -fno-tree-loop-distribute-patterns
        -mgeneral-regs-only -O2 -std=gnu11 -Wall -Wextra -Werror -I"$src/common")
ldflags=(-nostdlib -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments --build-id=none)

boot_sector() {
    local name=$1 source=$2
    gcc -m32 "${cflags[@]}" -c "$src/bootsector/$source" -o "$work/$name.o"
    ld -m elf_i386 "${ldflags[@]}" -T "$src/bootsector/bootsector.ld" "$work/$name.o" -o "$work/$name.elf"
    objcopy -O binary -j .text "$work/$name.elf" "$out/$name.bin"
    local size
    size=$(stat -c %s "$out/$name.bin")
    if [[ $size -ne 512 ]]; then
        echo "ferry guests: $name.bin is $size bytes, a boot sector must be 512" >&2
        exit 1
    fi
}

boot_sector hello-bootsector hello.S
boot_sector triple-fault triple-fault.S

gcc -m64 "${cflags[@]}" -c "$src/longmode/hello.S" -o "$work/hello-longmode.o"
ld -m elf_x86_64 "${ldflags[@]}" -T "$src/longmode/flat64.ld" "$work/hello-longmode.o" -o "$work/hello-longmode.elf"
objcopy -O binary -j .text "$work/hello-longmode.elf" "$out/hello-longmode.bin"
gcc -m32 "${cflags[@]}" -c "$src/longmode/shim.S" -o "$work/longmode-shim.o"
ld -m elf_i386 "${ldflags[@]}" -T "$src/longmode/shim.ld" "$work/longmode-shim.o" -o "$out/longmode-shim.elf"

# The workload's sources compile in parallel; every compiler is waited for before judging.
workload_objects=()
compilers=()
for source in "$src"/workload/*.S "$src"/workload/*.c; do
    object=$work/workload-$(basename "$source").o
    gcc -m32 -march=i686 "${cflags[@]}" -c "$source" -o "$object" &
    compilers+=($!)
    workload_objects+=("$object")
done
failed=0
for pid in "${compilers[@]}"; do
    wait "$pid" || failed=1
done
if [[ $failed -ne 0 ]]; then
    echo "ferry guests: compiling the workload guest failed" >&2
    exit 1
fi
ld -m elf_i386 "${ldflags[@]}" -T "$src/workload/workload.ld" "${workload_objects[@]}" -o "$out/workload.elf"
