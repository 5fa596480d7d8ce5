"""Calls from a script's unguarded top-level code, which a process pool would run again.

Worker processes started with spawn or forkserver (zsbench never forks) first run the parent's
``__main__`` script again, as ``__mp_main__``, to rebuild its globals. A script that calls zsbench
outside ``if __name__ == "__main__":`` therefore calls it again in every worker while the worker
is still starting, and multiprocessing aborts that with a long traceback (as it does for a script
read from stdin, which workers cannot run again at all). :func:`pool_hazard` spots both in the
parent, before any worker exists, so the API can run the stages in this process instead;
:func:`stop_if_bootstrapping` is the backstop on the worker's side.
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import sys
import tokenize
from types import FrameType

from zsbench.core.inert import terminal

_noted: set[str] = set()


def pool_hazard() -> str | None:
    """Why worker processes started now would fail while starting, with what to do, on one line;
    ``None`` when they can start (guarded calls, imports, an interactive session, ``python -c``,
    a notebook: no ``__file__``)."""
    script = unguarded_script()
    if script is not None:
        return (
            f'{os.path.basename(script)} calls zsbench outside an `if __name__ == "__main__":` block, '
            f"which worker processes would run again; add that guard to use worker processes"
        )
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    # `python - < script.py`: workers would run a file named "<stdin>", guard or not.
    if path and getattr(main, "__spec__", None) is None and not os.path.isfile(path):
        return (
            f"the main script ({path}) is not a file, which worker processes would need to run "
            f"again; run it from a file to use worker processes"
        )
    return None


def unguarded_script(frame: FrameType | None = None) -> str | None:
    """The ``__main__`` script's path when the calling code runs at its top level outside an
    ``if __name__ == "__main__":`` block; ``None`` for guarded calls, imports, an interactive
    session, ``python -c``, a notebook (no ``__file__``) or a script that cannot be read."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return None
    namespace = vars(main)
    frame = sys._getframe(1) if frame is None else frame
    # The script's module-level frame: the call may come through functions and other modules.
    while frame is not None and not (frame.f_globals is namespace and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    # No such frame: a thread or a callback. Other source: `python -i`'s prompt after the script.
    if frame is None or not _same_file(frame.f_code.co_filename, path):
        return None
    try:
        with tokenize.open(path) as f:  # honours a coding cookie
            tree = ast.parse(f.read(), path)
    except (OSError, SyntaxError, ValueError):  # no such file (see pool_hazard), a zipapp
        return None
    line = frame.f_lineno
    guarded = any(first <= line <= last for first, last in _guarded_lines(tree))
    return None if guarded else path


def note_in_process(reason: str) -> None:
    """Say once per reason, on stderr, why stages run in this process and how to get workers."""
    if reason not in _noted:
        _noted.add(reason)
        print(terminal(f"zsbench: running stages in this process: {reason}"), file=sys.stderr)


def stop_if_bootstrapping() -> None:
    """In a worker that is still starting (re-running the parent's script), start nothing: say
    why on one line and end the worker. Only reached when :func:`pool_hazard` could not see the
    call in the parent (e.g. one made from a thread)."""
    if not getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    print(
        f"zsbench: not run in worker process {os.getpid()}, which is re-running the parent's script; "
        f'put the script\'s zsbench calls under `if __name__ == "__main__":`',
        file=sys.stderr,
    )
    sys.stderr.flush()
    # SystemExit, not an error: a worker's bootstrap would print an error's traceback (forkserver
    # ends the child with os._exit, so a SystemExit message would be lost: hence the print).
    raise SystemExit(1)


def _same_file(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _guarded_lines(tree: ast.AST) -> list[tuple[int, int]]:
    """Line spans that run only when ``__name__ == "__main__"``: the body of ``if __name__ ==
    "__main__":`` (either operand order, or one term of an ``and``), the ``else`` of ``!=``."""
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            branch = (
                node.body
                if _tests_main(node.test, ast.Eq)
                else (node.orelse if _tests_main(node.test, ast.NotEq) else None)
            )
            if branch:
                spans.append((branch[0].lineno, branch[-1].end_lineno or branch[-1].lineno))
    return spans


def _tests_main(test: ast.expr, op: type[ast.cmpop]) -> bool:
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And) and op is ast.Eq:
        return any(_tests_main(value, op) for value in test.values)
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], op)):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(consts) == 1
