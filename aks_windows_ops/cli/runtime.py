"""How an invocation starts and ends: global flags anywhere, exit codes, errors, Ctrl-C and SIGTERM.

Exit codes (the README's): 0 success, 1 warnings, 2 errors found or a failed operation, 3 paused by the time
budget, 4 invalid input (usage errors included; nothing was sent), 5 refused by a safety rail, 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM).

Errors are one line (two with what to do) on standard error, a JSON document there with ``-o json``; no
traceback unless ``--debug`` (before or after the subcommand), and a traceback is passed through the same
redaction as the logs.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperArgument, TyperGroup, TyperOption

from aks_windows_ops import errors as E
from aks_windows_ops.cli.output import SESSION, err_console

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_PAUSED",
    "EXIT_TERMINATED",
    "EXIT_UNSAFE",
    "EXIT_WARN",
    "AzGroup",
    "exit_code_for",
    "fail",
    "report_error",
]

EXIT_OK, EXIT_WARN, EXIT_ERROR, EXIT_PAUSED, EXIT_INVALID, EXIT_UNSAFE = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143

#: Flags accepted anywhere on the command line (moved in front of the subcommand before parsing).
GLOBAL_FLAGS = ("--debug", "--verbose", "--only-show-errors")
#: Options whose values may be secrets: never printed back.
SECRET_OPTIONS = ("--password-env", "--password", "--password-fd", "--key-vault-secret")


def _redact(text: str) -> str:
    from aks_windows_ops.azure.redact import redact_text

    text = redact_text(text)
    for hidden in SESSION.hidden:
        if hidden.strip():
            # Whole tokens only: a short value must not mangle the words around it (an option's own name).
            text = re.sub(rf"(?<![\w-]){re.escape(hidden)}(?![\w-])", "***", text)
    return text


def _redact_values(value: Any) -> Any:
    if isinstance(value, str):
        return _redact(value)
    if isinstance(value, dict):
        return {key: _redact_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_values(item) for item in value]
    return value


def exit_code_for(err: BaseException) -> int:
    """The documented exit code of an error (see the module docstring)."""
    signal_name = getattr(err, "signal_name", None)
    if signal_name is not None:
        return EXIT_TERMINATED if signal_name == "SIGTERM" else EXIT_INTERRUPTED
    if isinstance(err, E.InvalidInput | UsageError):
        return EXIT_INVALID
    if isinstance(err, E.UnsafeOperation):
        return EXIT_UNSAFE
    if isinstance(err, E.BudgetExhausted):
        return EXIT_PAUSED
    return EXIT_ERROR


def _as_library_error(err: BaseException) -> E.AksWindowsOpsError | None:
    if isinstance(err, E.AksWindowsOpsError):
        return err
    if isinstance(err, FileNotFoundError | IsADirectoryError | NotADirectoryError | PermissionError):
        what = (err.strerror or type(err).__name__).lower()
        return E.InvalidInput(
            f"{err.filename}: {what}" if err.filename else what,
            remediation="Check the file name (and its permissions), then run again.",
        )
    names = {cls.__name__ for cls in type(err).__mro__}
    if names & {"ClientAuthenticationError", "CredentialUnavailableError"}:
        first = (str(err).strip().splitlines() or ["no usable Azure credential"])[0]
        return E.AksWindowsOpsError(
            f"cannot sign in to Azure: {first[:300]}",
            remediation="Sign in with `az login` (or set a managed identity or service principal for "
            "DefaultAzureCredential), then run again.",
        )
    if type(err).__module__.startswith("azure."):
        from aks_windows_ops.azure.errors import translate

        return translate(err)
    return None


def report_error(err: BaseException, *, code: int | None = None) -> int:
    """Print ``err`` for people (or as JSON with ``-o json``) on standard error and return its exit code."""
    if SESSION.debug:
        from aks_windows_ops.azure.redact import format_exception_redacted

        sys.stderr.write(_redact(format_exception_redacted(err)))
    library = _as_library_error(err)
    if code is None:
        code = exit_code_for(library or err)
    if library is not None:
        message = str(library)
        remediation = library.remediation or ""
        document: dict[str, Any] = library.to_dict()
    elif isinstance(err, UsageError):
        message = err.format_message().replace("Value error, ", "")
        remediation = f"Run '{SESSION.usage_command} -h' to see what it accepts."
        document = {"type": "UsageError", "message": message, "remediation": remediation, "runbook": None}
    else:
        message = f"unexpected {type(err).__name__}: {err}".rstrip(": ")
        remediation = "Run again with --debug to see where it happened, and report it."
        document = {
            "type": type(err).__name__,
            "message": message,
            "remediation": remediation,
            "runbook": None,
        }
    message = _redact(" ".join(message.split()))
    remediation = _redact(remediation)
    document = _redact_values(json.loads(json.dumps(document, default=str)))
    document["message"], document["remediation"] = message, remediation
    document["exit_code"] = code
    if SESSION.output in ("json", "jsonc"):
        sys.stderr.write(json.dumps({"error": document}, indent=2, default=str) + "\n")
    else:
        from rich.markup import escape

        console = err_console()
        console.print(f"[bold red]ERROR[/]: {escape(message)}")
        if remediation:
            console.print(f"[yellow]What to do[/]: {escape(remediation)}")
    return code


def fail(err: BaseException) -> typer.Exit:
    """Report an error once and return the ``typer.Exit`` that carries its documented exit code."""
    return typer.Exit(report_error(err))


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    # A flag takes no value: its help shows no type (typer would show "<bool>").
    if self.is_flag:
        return None
    return _display_type_rich(self, ctx)


def _argument_type(self: TyperArgument, ctx: Any) -> str | None:
    # An argument with a metavar (FILES...) says it all; typer would add "<list[Path]>".
    return None if self.metavar else _argument_display_type(self, ctx)


_display_type_rich = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]
_argument_display_type = TyperArgument.display_type_rich
TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign,assignment]


class _Terminated(KeyboardInterrupt):
    """SIGTERM while no plan is running."""


def _terminated_class() -> type[KeyboardInterrupt]:
    # The runner records the step in flight on a KeyboardInterrupt; its own SIGTERM class says which signal.
    from aks_windows_ops.runbooks import runner

    found = getattr(runner, "Terminated", None)
    if isinstance(found, type) and issubclass(found, KeyboardInterrupt):
        return found
    return _Terminated


def is_sigterm(interrupt: BaseException) -> bool:
    """Whether a ``KeyboardInterrupt`` came from SIGTERM (see :func:`sigterm_as_interrupt`)."""
    return isinstance(interrupt, _Terminated) or type(interrupt).__name__ == "Terminated"


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into a ``KeyboardInterrupt`` in the main thread, so that both end the same clean way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except (ValueError, AttributeError):  # pragma: no cover - platforms without SIGTERM
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _terminated_class()()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _prescan(args: Sequence[str]) -> list[str]:
    """Set the session flags from the raw arguments and move the global flags before the subcommand."""
    SESSION.reset()
    moved: list[str] = []
    rest: list[str] = []
    after_dashes = False
    previous = ""
    for arg in args:
        if after_dashes:
            rest.append(arg)
            continue
        if arg == "--":
            after_dashes = True
            rest.append(arg)
        elif arg in GLOBAL_FLAGS:
            setattr(SESSION, arg[2:].replace("-", "_"), True)
            moved.append(arg)
        else:
            rest.append(arg)
            if previous in ("-o", "--output"):
                SESSION.output = arg.lower()
            elif arg.startswith("--output="):
                SESSION.output = arg.split("=", 1)[1].lower()
            elif arg.startswith("-o") and len(arg) > 2 and not arg.startswith("--"):
                SESSION.output = arg[2:].lower()
            if previous in SECRET_OPTIONS and not (previous == "--password-fd" and arg.isdigit()):
                SESSION.hidden.append(arg)
            for option in SECRET_OPTIONS:
                value = arg.split("=", 1)[1] if arg.startswith(option + "=") else None
                if value is not None and not (option == "--password-fd" and value.isdigit()):
                    SESSION.hidden.append(value)
        previous = arg
    return moved + rest


_EXTRA = re.compile(r"^Got unexpected extra argument(?:s|\(s\))? \((.*)\)$", re.DOTALL)


def _usage_error(err: ClickException) -> int:
    if isinstance(err, NoArgsIsHelpError) and err.ctx is not None:
        sys.stdout.write(err.ctx.get_help() + "\n")
        return EXIT_OK
    if isinstance(err, UsageError):
        found = _EXTRA.match(err.message)
        if found:
            # A stray argument may be a secret typed in the wrong place: never printed back.
            SESSION.hidden.extend(found.group(1).split())
            err = UsageError(
                "unexpected extra argument(s), not shown; every value goes with its option "
                "(e.g. --name NAME), and a password only through --password-env or --password-fd",
                ctx=err.ctx,
            )
        SESSION.usage_command = err.ctx.command_path if err.ctx is not None else "aks-windows-ops"
        return report_error(err, code=EXIT_INVALID)
    return report_error(err, code=EXIT_ERROR)


class AzGroup(TyperGroup):
    """The root command group: ``az``-style global flags, exit codes and error reporting for every command."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Parse ``args`` (default ``sys.argv[1:]``), run the command and exit with the documented code."""
        raw = list(sys.argv[1:] if args is None else args)
        argv = _prescan(raw)
        code = EXIT_OK
        try:
            with sigterm_as_interrupt():
                result = super().main(
                    args=argv,
                    prog_name=prog_name or "aks-windows-ops",
                    complete_var=complete_var,
                    standalone_mode=False,
                    **extra,
                )
            code = result if isinstance(result, int) else EXIT_OK
        except typer.Exit as done:
            code = done.exit_code
        except typer.Abort as abort:
            cause = abort.__cause__ or abort.__context__
            if isinstance(cause, KeyboardInterrupt):
                code = _interrupted(cause)
            else:
                err_console().print("Cancelled: nothing was changed.")
                code = EXIT_INVALID
        except ClickException as err:
            code = _usage_error(err)
        except KeyboardInterrupt as interrupt:
            code = _interrupted(interrupt)
        except Exception as err:
            code = report_error(err)
        if not standalone_mode:
            return code
        sys.exit(code)

    def invoke(self, ctx: Any) -> Any:
        """Run the command; an interruption outside a plan ends with 130 (Ctrl-C) or 143 (SIGTERM)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as interrupt:
            raise typer.Exit(_interrupted(interrupt)) from None


def _interrupted(interrupt: BaseException) -> int:
    sigterm = is_sigterm(interrupt)
    err_console().print(f"Interrupted ({'SIGTERM' if sigterm else 'Ctrl-C'}); nothing more was started.")
    return EXIT_TERMINATED if sigterm else EXIT_INTERRUPTED
