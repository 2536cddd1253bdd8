"""The ``grape`` command. Thin glue: every command delegates to the library, and domain errors
(:class:`~grapekg.errors.GrapeError`) are printed as one styled line, rc 2 for usage errors
and rc 1 for data errors (the traceback only with ``-v``)."""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Annotated

import click
import typer
import typer._click as _tclick

from grapekg import __version__
from grapekg.cli import data as data_cmd
from grapekg.cli import db as db_cmd
from grapekg.cli import evaluate as evaluate_cmd
from grapekg.cli import export as export_cmd
from grapekg.cli import features as features_cmd
from grapekg.cli import kg as kg_cmd
from grapekg.cli import query as query_cmd
from grapekg.cli import recovery as recovery_cmd
from grapekg.cli import runs as runs_cmd
from grapekg.cli import train as train_cmd
from grapekg.cli.console import err_console
from grapekg.errors import MAX_MESSAGE, GrapeError, cut

app = typer.Typer(
    name="grape",
    help="grape-kg: a Neo4j gene knowledge graph and GRAPE perturbation models.",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # locals could hold the Neo4j password
    no_args_is_help=True,
)
app.add_typer(db_cmd.app, name="db")
app.add_typer(kg_cmd.app, name="kg")
app.add_typer(data_cmd.app, name="data")
app.add_typer(features_cmd.app, name="features")
app.command("query")(query_cmd.query)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("export")(export_cmd.export)
app.add_typer(export_cmd.priors_app, name="priors")
app.command("writeback")(export_cmd.writeback)
app.add_typer(runs_cmd.app, name="runs")
app.command("train")(train_cmd.train)
app.command("predict")(train_cmd.predict_cmd)
app.command("report")(train_cmd.report)
app.command("recovery")(recovery_cmd.recovery)

_state = {"verbose": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"grape-kg {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log details; show tracebacks.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Build the knowledge graph, import perturbation data, train, evaluate, query."""
    _state["verbose"] = verbose
    if not verbose:  # library deprecation chatter is not for users of the command
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _fail(message: str, code: int) -> None:
    err_console.print(
        f"[bold red]error:[/] {cut(message, MAX_MESSAGE)}", highlight=False, soft_wrap=True
    )
    sys.exit(code)


def _unexpected(exc: BaseException) -> str:
    """One line for an exception that escaped the library's own errors (a bug, or an
    error class not yet wrapped): its type and cut message, and how to see the traceback."""
    return f"{type(exc).__name__}: {cut(str(exc), MAX_MESSAGE - 80)} (rerun with -v for details)"


def main(argv: list[str] | None = None) -> None:
    """Console entry point with the error boundary: every error is one line on stderr,
    rc 2 for usage errors (unknown command or option, a bad value), rc 1 for data, server
    and database errors; the traceback only with ``-v``."""
    try:
        app(args=argv, standalone_mode=False)
    except GrapeError as exc:
        if _state["verbose"]:
            err_console.print_exception(show_locals=False)
        _fail(str(exc), exc.exit_code)
    except (typer.Exit, click.exceptions.Exit) as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, click.exceptions.Abort):
        err_console.print("[red]aborted[/]")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)
    except (_tclick.exceptions.NoArgsIsHelpError, click.exceptions.NoArgsIsHelpError) as exc:
        exc.show()  # the help text of a group called without a command
        sys.exit(2)
    except (click.ClickException, _tclick.ClickException) as exc:
        # typer ships its own click (typer._click): both kinds are usage errors here
        _fail(exc.format_message(), 2 if exc.exit_code in (0, 2) else exc.exit_code)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, Exception) as exc:
        if _state["verbose"]:
            err_console.print_exception(show_locals=False)
        if isinstance(exc, OSError) and exc.filename is not None:
            _fail(f"{cut(str(exc.filename), 160)}: {exc.strerror or exc}", 1)
        _fail(_unexpected(exc), 1)


if __name__ == "__main__":  # pragma: no cover
    main()
