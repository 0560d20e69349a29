"""What a shell command says about itself: the MPI ranks its launcher lines ask for."""

from __future__ import annotations

import re
import shlex

LAUNCHERS = frozenset({"mpirun", "mpiexec", "mpiexec.hydra", "srun", "orterun"})
RANK_FLAGS = frozenset({"-np", "-n", "--np", "--n", "--ntasks"})
PREFIXES = frozenset({"exec", "time", "nohup", "env", "command", "nice"})
SEPARATORS = re.compile(r"(?:&&|\|\||[;&|\n])")


def declared_ranks(command: str) -> int | None:
    """The most ranks any launcher in the command is asked for (`mpirun -np 2`, `-n=4`,
    `srun --ntasks 8`), or None when no launcher line names a count."""
    found: list[int] = []
    for part in SEPARATORS.split(command):
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            words = part.split()
        while words and (words[0] in PREFIXES or re.match(r"^\w+=", words[0])):
            words = words[1:]
        if not words or words[0].rsplit("/", 1)[-1] not in LAUNCHERS:
            continue
        args = words[1:]
        for n, word in enumerate(args):
            flag, equals, value = word.partition("=")
            if flag not in RANK_FLAGS:
                continue
            text = value if equals else (args[n + 1] if n + 1 < len(args) else "")
            if text.isdigit() and 0 < int(text) < 1 << 20:
                found.append(int(text))
    return max(found) if found else None
