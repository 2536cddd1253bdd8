"""The ``grape`` command. Thin glue: every command delegates to the library, and domain errors
(:class:`~grapekg.errors.GrapeError`) are printed as one styled line, rc 2 for usage errors
and rc 1 for data errors (the traceback only with ``-v``)."""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from typing import Annotated

import typer
import typer._click as click  # typer ships its own click; the real one is not imported
from typer.core import TyperCommand, TyperGroup

from grapekg import __version__
from grapekg.cli.console import err_console
from grapekg.errors import MAX_MESSAGE, GrapeError, cut

#: The sub-commands of ``grape``: name -> (module of grapekg.cli, attribute, one-line help).
#: An attribute that is a ``typer.Typer`` becomes a command group (``grape data ...``), a
#: function a command (``grape train``). Nothing is imported until a command runs (or its own
#: ``--help`` is asked for), so ``grape --help`` and usage errors answer at once, and pandas,
#: torch, anndata and neo4j are imported only by the commands that use them. To add a
#: sub-command or group, e.g. a ``labels`` group in cli/labels.py holding ``app = typer.Typer()``,
#: add one line here (or call :func:`register` before :func:`main`):
#: ``"labels": ("labels", "app", "Condition labels: ...")``.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "db": ("db", "app", "Manage the local Neo4j 5 LTS Community server."),
    "kg": ("kg", "app", "Build and inspect the gene knowledge graph."),
    "data": ("data", "app", "Perturbation datasets: import, simulate, download, list."),
    "features": (
        "features",
        "app",
        "Gene features: text descriptions, DNA language model, k-mers.",
    ),
    "query": ("query", "query", "Run a parameterised Cypher query (grape query list)."),
    "evaluate": ("evaluate", "evaluate", "Score the baselines and predictions on a dataset."),
    "export": ("export", "export", "Export the typed c/nc gene graph for training."),
    "priors": ("export", "priors_app", "Prior gene-gene edges (GO Jaccard, Reactome pathways)."),
    "writeback": ("export", "writeback", "Write a model run and its learned edges to the KG."),
    "runs": ("runs", "app", "Model runs written back into the graph."),
    "train": ("train", "train", "Train a model (grape models) per seed; write back; evaluate."),
    "models": ("models", "models", "The models grape train knows and their named variants."),
    "predict": ("predict", "predict_cmd", "Predict expression after knocking down genes."),
    "report": ("predict", "report", "Figures of a run (UMAP, violins, ablation bars)."),
    "recovery": ("recovery", "recovery", "Planted-edge recovery of runs (AUPRC)."),
    "labels": ("labels", "app", "Label datasets: (perturbation, gene) -> 0/1 labels."),
}


def register(name: str, module: str, attribute: str, help_text: str) -> None:
    """Add a sub-command (see :data:`COMMANDS`); ``module`` is a module of grapekg.cli or a
    full dotted path."""
    COMMANDS[name] = (module, attribute, help_text)


def _load(name: str, rich_markup_mode: str | None) -> click.Command:
    """The click command of sub-command ``name``, its module imported now."""
    module, attribute, _help = COMMANDS[name]
    mod = importlib.import_module(module if "." in module else f"grapekg.cli.{module}")
    obj = getattr(mod, attribute)
    holder = typer.Typer(rich_markup_mode=rich_markup_mode)
    if isinstance(obj, typer.Typer):
        holder.add_typer(obj, name=name)
    else:
        holder.command(name)(obj)
    return typer.main.get_group(holder).commands[name]


class _LazyGroup(TyperGroup):
    """The root group: sub-commands from :data:`COMMANDS`, each module imported only when
    its command is resolved; the root help lists them from their one-line help alone."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.commands, *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # the root help: a stub with the one-line help, nothing imported
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][2])
        cmd = _load(cmd_name, self.rich_markup_mode)
        self.commands[cmd_name] = cmd
        return cmd

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="grape",
    cls=_LazyGroup,
    help="grape-kg: a Neo4j gene knowledge graph and GRAPE perturbation models.",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # locals could hold the Neo4j password
    no_args_is_help=True,
)

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
    # the driver logs a lost connection as ERROR before the command's own one-line error;
    # only -v shows it
    logging.getLogger("neo4j").setLevel(logging.WARNING if verbose else logging.CRITICAL)


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
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[red]aborted[/]")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # the help text of a group called without a command
        sys.exit(2)
    except click.ClickException as exc:
        # typer's own click (typer._click): usage errors
        _fail(exc.format_message(), 2 if exc.exit_code in (0, 2) else exc.exit_code)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, Exception) as exc:
        if _state["verbose"]:
            err_console.print_exception(show_locals=False)
        if isinstance(exc, OSError) and exc.filename is not None:
            _fail(f"{cut(str(exc.filename), 160)}: {exc.strerror or exc}", 1)
        _fail(_unexpected(exc), 1)


if __name__ == "__main__":  # pragma: no cover
    main()
