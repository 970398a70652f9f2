"""Build and run an exported C model: on the host (the system C compiler) and on an emulated Cortex-M.

The host build compiles the export with ``-std=c99 -Wall -Wextra -Werror -O2`` into a
shared library and runs it through ``ctypes`` (:class:`HostModel`). The device build
cross-compiles it with Debian's ``arm-none-eabi-gcc`` (newlib's semihosting ``rdimon``
library) for a QEMU board — ``mps2-an386`` (Cortex-M4) by default, ``mps2-an385``
(Cortex-M3), ``mps2-an500`` (Cortex-M7) — and :func:`run_on_board` runs it on images read
from a host file, returning its predictions, its scores and the stack it used. Flash and
RAM of the model come from ``arm-none-eabi-size`` on its object file
(:func:`device_sizes`). QEMU is not cycle-accurate: it checks results, not speed.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyconv.deploy.c import CExport

__all__ = ["HOST_FLAGS", "BOARDS", "HostModel", "compile_host", "cross_tools_missing", "DeviceRun", "DeviceSizes",
           "build_for_board", "run_on_board", "device_sizes"]

HOST_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O2")
"""How the host build compiles the export (a warning is an error)."""

BOARDS = {
    "mps2-an386": {"cpu": "cortex-m4", "flash": (0x00000000, "4M"), "ram": (0x20000000, "4M"), "probe": 16384},
    "mps2-an385": {"cpu": "cortex-m3", "flash": (0x00000000, "4M"), "ram": (0x20000000, "4M"), "probe": 16384},
    "mps2-an500": {"cpu": "cortex-m7", "flash": (0x00000000, "4M"), "ram": (0x20000000, "4M"), "probe": 16384},
}
"""QEMU boards the device build targets: their CPU, memory map and how much stack the harness paints to measure."""

_BATCH = r"""
#include <stdint.h>
#include "{name}.h"
void tc_batch(const uint8_t *pixels, int n, int8_t *scores, int32_t *classes)
{{
    int i;
    for (i = 0; i < n; ++i)
        classes[i] = {name}_scores(pixels + (long)i * {upper}_INPUT_BYTES, scores + (long)i * {upper}_CLASSES);
}}
"""

_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include "{name}.h"

#define STACK_PROBE {probe}
static uint8_t pixels[{upper}_INPUT_BYTES];
static int8_t scores[{upper}_CLASSES];
static int predicted;

static void one(void) {{ predicted = {name}_scores(pixels, scores); }}

/* Paint the stack below this frame, predict, and find the deepest byte the prediction wrote. */
static unsigned stack_used(void (*work)(void))
{{
    volatile uint8_t here = 0;
    volatile uint8_t *top = (volatile uint8_t *)((uintptr_t)&here - 64);
    unsigned i;
    for (i = 0; i < STACK_PROBE; ++i) top[-(long)i] = 0xA5;
    work();
    for (i = STACK_PROBE; i > 0 && top[-(long)(i - 1)] == 0xA5; --i) {{}}
    return i + 64 + (unsigned)here;
}}

int main(void)
{{
    FILE *in = fopen("{images}", "rb"), *out = fopen("{results}", "wb");
    unsigned n = 0, deepest = 0;
    if (!in || !out) {{ printf("cannot open the image or result file\n"); return 1; }}
    while (fread(pixels, 1, sizeof pixels, in) == sizeof pixels) {{
        unsigned used = stack_used(one);
        if (used > deepest) deepest = used;
        fputc(predicted, out);
        fwrite(scores, 1, sizeof scores, out);
        ++n;
    }}
    fclose(in);
    fclose(out);
    printf("images %u stack %u\n", n, deepest);
    return 0;
}}
"""

_START = r"""
#include <stdint.h>
extern void _start(void);
extern uint32_t __StackTop, __etext, __data_start__, __data_end__;
void reset_handler(void)
{
    uint32_t *src = &__etext, *dst = &__data_start__;
    while (dst < &__data_end__) *dst++ = *src++;
    _start();
    for (;;) {}
}
__attribute__((section(".vectors"), used)) static const void *vectors[] = {&__StackTop, (void *)reset_handler};
"""

_LINKER = """MEMORY
{{
  FLASH (rx) : ORIGIN = {flash_at:#x}, LENGTH = {flash}
  RAM (rwx)  : ORIGIN = {ram_at:#x}, LENGTH = {ram}
}}
ENTRY(reset_handler)
SECTIONS
{{
  .text : {{ KEEP(*(.vectors)) *(.text*) KEEP(*(.init)) KEEP(*(.fini)) *(.eh_frame) }} > FLASH
  .rodata : {{
    *(.rodata*)
    . = ALIGN(4);
    __preinit_array_start = .; KEEP(*(.preinit_array*)) __preinit_array_end = .;
    __init_array_start = .; KEEP(*(SORT(.init_array.*))) KEEP(*(.init_array*)) __init_array_end = .;
    __fini_array_start = .; KEEP(*(.fini_array*)) __fini_array_end = .;
  }} > FLASH
  .ARM.exidx : {{ *(.ARM.exidx*) }} > FLASH
  . = ALIGN(4);
  __etext = .;
  .data : AT(__etext) {{ __data_start__ = .; *(.data*) . = ALIGN(4); __data_end__ = .; }} > RAM
  .bss (NOLOAD) : {{ __bss_start__ = .; *(.bss*) *(COMMON) . = ALIGN(4); __bss_end__ = .; }} > RAM
  end = .;
  __end__ = .;
  __stack = ORIGIN(RAM) + LENGTH(RAM);
  __StackTop = __stack;
}}
"""


def _run(command: list[str], what: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({' '.join(command[:1])}, exit {done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[:2000]}")
    return done


class HostModel:
    """An exported C model compiled for this machine and called through ``ctypes``."""

    def __init__(self, library: Path, export: CExport) -> None:
        self.library = library
        self.export = export
        self._lib = ctypes.CDLL(str(library))
        c, h, w = export.quantized.graph.input_shape
        self.input_bytes = c * h * w
        self.classes = export.quantized.graph.shape_of(export.quantized.graph.output)[0]

    def run(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Classify raw ``uint8`` images ``(N, ...)``: ``(classes (N,), int8 scores (N, K))``."""
        flat = np.ascontiguousarray(pixels.reshape(len(pixels), -1), dtype=np.uint8)
        if flat.shape[1] != self.input_bytes:
            raise ValueError(f"the model takes {self.input_bytes} pixels per image, got {flat.shape[1]}")
        scores = np.zeros((len(flat), self.classes), np.int8)
        classes = np.zeros(len(flat), np.int32)
        self._lib.tc_batch(flat.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(len(flat)),
                           scores.ctypes.data_as(ctypes.c_void_p), classes.ctypes.data_as(ctypes.c_void_p))
        return classes, scores


def compile_host(export: CExport, folder: str | os.PathLike[str] | None = None, *, compiler: str = "cc") -> HostModel:
    """Compile an export with :data:`HOST_FLAGS` into a shared library and load it.

    Args:
        export: What :func:`tinyconv.deploy.c.to_c` wrote.
        folder: Where to build (a temporary folder by default).
        compiler: The C compiler.

    Returns:
        The :class:`HostModel`.

    Raises:
        RuntimeError: If the compiler warns or fails (its message included).
    """
    build = Path(folder or tempfile.mkdtemp(prefix="tinyconv-c-"))
    build.mkdir(parents=True, exist_ok=True)
    batch = build / "tc_batch.c"
    batch.write_text(_BATCH.format(name=export.name, upper=export.name.upper()))
    library = build / f"lib{export.name}.so"
    _run([compiler, *HOST_FLAGS, "-fPIC", "-shared", f"-I{export.source.parent}", str(export.source), str(batch),
          "-o", str(library)], "the host build")
    return HostModel(library, export)


def cross_tools_missing() -> str | None:
    """Why the device build cannot run here (a missing program), or ``None`` when it can."""
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm"):
        if shutil.which(tool) is None:
            return (f"{tool} is not installed (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                    "qemu-system-arm)")
    return None


@dataclass(frozen=True)
class DeviceSizes:
    """The model's own memory on the device, from ``arm-none-eabi-size`` on its object file.

    Attributes:
        flash: ``.text`` + ``.rodata`` (code, weights, tables).
        ram: ``.data`` + ``.bss`` (the arena).
        text: Code alone.
        rodata: Constant data alone (weights and tables).
    """

    flash: int
    ram: int
    text: int
    rodata: int


@dataclass(frozen=True)
class DeviceRun:
    """The model run on an emulated board.

    Attributes:
        board: The QEMU machine.
        classes: Predicted class per image.
        scores: ``int8`` scores ``(N, K)``.
        stack_bytes: The deepest stack one prediction used.
        sizes: The model's flash and RAM.
    """

    board: str
    classes: np.ndarray
    scores: np.ndarray
    stack_bytes: int
    sizes: DeviceSizes


def build_for_board(export: CExport, folder: str | os.PathLike[str], board: str = "mps2-an386", *,
                    images: str = "images.bin", results: str = "results.bin") -> Path:
    """Cross-compile the export and a semihosted harness into an ELF for a QEMU board.

    Args:
        export: What :func:`tinyconv.deploy.c.to_c` wrote.
        folder: Where to build; the harness reads ``folder/images`` and writes ``folder/results``.
        board: A key of :data:`BOARDS`.
        images: The raw image file's name.
        results: The result file's name.

    Returns:
        The ELF file.

    Raises:
        ValueError: For an unknown board.
        RuntimeError: If the cross-compiler fails.
    """
    if board not in BOARDS:
        raise ValueError(f"board must be one of {', '.join(BOARDS)}, got {board!r}")
    spec = BOARDS[board]
    build = Path(folder).resolve()
    build.mkdir(parents=True, exist_ok=True)
    (build / "start.c").write_text(_START)
    (build / "main.c").write_text(_MAIN.format(name=export.name, upper=export.name.upper(), probe=spec["probe"],
                                               images=build / images, results=build / results))
    (build / "board.ld").write_text(_LINKER.format(flash_at=spec["flash"][0], flash=spec["flash"][1],
                                                   ram_at=spec["ram"][0], ram=spec["ram"][1]))
    flags = [f"-mcpu={spec['cpu']}", "-mthumb", *HOST_FLAGS, f"-I{export.source.parent}"]
    _run(["arm-none-eabi-gcc", *flags, "-c", str(export.source), "-o", str(build / f"{export.name}.o")],
         "the device build of the model")
    elf = build / f"{export.name}-{board}.elf"
    _run(["arm-none-eabi-gcc", *flags[:2], "-O2", "--specs=rdimon.specs", "-T", str(build / "board.ld"),
          str(build / "start.c"), str(build / "main.c"), str(build / f"{export.name}.o"), f"-I{export.source.parent}",
          "-o", str(elf)], "the device link")
    return elf


def device_sizes(object_file: str | os.PathLike[str]) -> DeviceSizes:
    """Flash and RAM of a compiled model object (``arm-none-eabi-size -A``).

    Args:
        object_file: The model's ``.o`` from :func:`build_for_board`.

    Returns:
        The :class:`DeviceSizes`.
    """
    done = _run(["arm-none-eabi-size", "-A", str(object_file)], "arm-none-eabi-size")
    sections: dict[str, int] = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            key = next((k for k in (".text", ".rodata", ".data", ".bss") if parts[0].startswith(k)), None)
            if key:
                sections[key] = sections.get(key, 0) + int(parts[1])
    text, rodata = sections.get(".text", 0), sections.get(".rodata", 0)
    return DeviceSizes(text + rodata, sections.get(".data", 0) + sections.get(".bss", 0), text, rodata)


def run_on_board(export: CExport, pixels: np.ndarray, folder: str | os.PathLike[str], board: str = "mps2-an386", *,
                 timeout: float = 1800) -> DeviceRun:
    """Build for a QEMU board and classify ``pixels`` there (read through semihosting).

    Args:
        export: What :func:`tinyconv.deploy.c.to_c` wrote.
        pixels: Raw ``uint8`` images ``(N, ...)``.
        folder: Where to build and exchange files.
        board: A key of :data:`BOARDS`.
        timeout: Seconds QEMU may run.

    Returns:
        The :class:`DeviceRun`.

    Raises:
        RuntimeError: If a tool is missing, the build fails, or the program does not finish cleanly.
    """
    missing = cross_tools_missing()
    if missing:
        raise RuntimeError(missing)
    build = Path(folder).resolve()
    elf = build_for_board(export, build, board)
    flat = np.ascontiguousarray(pixels.reshape(len(pixels), -1), dtype=np.uint8)
    (build / "images.bin").write_bytes(flat.tobytes())
    (build / "results.bin").unlink(missing_ok=True)
    done = _run(["qemu-system-arm", "-M", board, "-nographic", "-monitor", "none", "-serial", "none",
                 "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)], f"QEMU ({board})",
                timeout=timeout)
    words = done.stdout.split()
    if "images" not in words or int(words[words.index("images") + 1]) != len(flat):
        raise RuntimeError(f"the program on {board} did not classify every image: {done.stdout.strip()[:500]}")
    classes_k = export.quantized.graph.shape_of(export.quantized.graph.output)[0]
    raw = np.frombuffer((build / "results.bin").read_bytes(), np.uint8).reshape(len(flat), 1 + classes_k)
    stack = int(words[words.index("stack") + 1])
    return DeviceRun(board, raw[:, 0].astype(np.int32), raw[:, 1:].view(np.int8).copy(), stack,
                     device_sizes(build / f"{export.name}.o"))
