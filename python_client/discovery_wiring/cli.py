"""The ``discovery-wiring`` command line.

``run`` imports an inventory file (default: the bundled sample) for a tenant and
carries it to wired assets in one transaction; ``migrate``, ``health``,
``assets`` (and ``assets show``), ``conflicts`` (and ``conflicts resolve``),
``imports`` (and ``imports undo``), ``serve`` (the HTTP API and the inventory
page), ``repair``, ``db``, ``dbt`` and ``citus`` are the tools around it. The
database is ``DISCOVERY_DATABASE_URL`` (or ``--database-url``), else the
embedded PostgreSQL; commands that need the schema migrate a database that
has none.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import click
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import db, dbt_settings, pipeline
from . import profiles as profiles_module
from .calls import MAX_PAYLOAD, normalize_mappings
from .client import DEFAULT_CHUNK_SIZE, DiscoveryClient
from .errors import DiscoveryError, UnknownTenant
from .migrate import MigrationError, ensure_migrated, validate_constraints
from .migrate import migrate as run_migrations
from .profiles import ASSET_COLUMNS
from .readers import ReadError
from .resources import dbt_dir, sample_file
from .results import (
    CONFLICT_ACTIONS,
    HEALTH_KEYS,
    OUTCOMES,
    Conflict,
    ConflictPage,
    Tenant,
)

# The quick-start tenant: fixed, so that repeated runs land in the same tenant.
QUICKSTART_CLIENT_ID = UUID("5d1a7c3e-0000-4000-8000-000000000001")
QUICKSTART_ENGAGEMENT_ID = UUID("5d1a7c3e-0000-4000-8000-000000000002")
QUICKSTART_CLIENT_NAME = "Quick-start client"
QUICKSTART_ENGAGEMENT_NAME = "Quick-start engagement"

console = Console()
err_console = Console(stderr=True)


def _output_width() -> int | None:
    """Columns of the output, decided when a command runs: COLUMNS when set;
    piped output (not a terminal) gets wide tables rather than rich's 80
    columns, so that UUIDs stay whole; None: the terminal's own width."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if sys.stdout.isatty() else 200


class _Group(click.Group):
    """Turns database errors into a clear message and a nonzero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UnknownTenant as exc:
            hint = (exc.hint or "") + " (`discovery-wiring run` registers the tenant it imports into.)"
            _fail(f"[{exc.sqlstate}] {exc.message}", exc.detail, hint.strip())
        except DiscoveryError as exc:
            _fail(f"[{exc.sqlstate}] {exc.message}", exc.detail, exc.hint)
        except MigrationError as exc:
            _fail(f"migration failed: {exc}")
        except psycopg.Error as exc:
            diag = getattr(exc, "diag", None)
            _fail(f"[{exc.sqlstate or 'database'}] {(diag and diag.message_primary) or exc}",
                  diag and diag.message_detail, diag and diag.message_hint)


def _fail(message: str, detail: str | None = None, hint: str | None = None, code: int = 1):
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    if detail:
        err_console.print(f"  detail: {detail}", highlight=False, soft_wrap=True)
    if hint:
        err_console.print(f"  hint: {hint}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _masked(url: str) -> str:
    params = conninfo_to_dict(url)
    if params.get("password"):
        params["password"] = "****"
    return make_conninfo(**params)


class Context:
    def __init__(self, url: str | None):
        self.configured_url = url
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The database URL; starts the embedded server when none is configured."""
        if self._url is None:
            if self.configured_url:
                self._url = self.configured_url
            else:
                with err_console.status("Starting the embedded PostgreSQL…"):
                    self._url = db.start_embedded()
        return self._url

    def migrated_url(self) -> str:
        """The URL, after migrating the database if it has no schema yet."""
        with err_console.status("Checking the database…"):
            ensure_migrated(self.url)
        return self.url


pass_ctx = click.make_pass_decorator(Context)


@click.group(cls=_Group)
@click.option("--database-url", envvar=db.URL_ENV, default=None, metavar="URL",
              help=f"libpq URI of the database (env {db.URL_ENV}); default: the embedded PostgreSQL.")
@click.version_option(package_name="discovery-wiring")
@click.pass_context
def main(ctx, database_url):
    """Import inventory files into wired, linked assets (schema `discovery`)."""
    width = _output_width()
    if width is not None:
        console.width = width
    ctx.obj = Context(database_url or None)


def tenant_options(f):
    f = click.option("--engagement-id", type=click.UUID, default=str(QUICKSTART_ENGAGEMENT_ID),
                     show_default=True, help="Engagement UUID (quick-start default).")(f)
    f = click.option("--client-id", type=click.UUID, default=str(QUICKSTART_CLIENT_ID),
                     show_default=True, help="Client account UUID (quick-start default).")(f)
    return f


# -- migrate ----------------------------------------------------------------

@main.command()
@pass_ctx
def migrate(obj: Context):
    """Apply pending migrations and rebuild schema `discovery`."""
    result = run_migrations(obj.url)
    if result.applied:
        console.print(f"Applied {len(result.applied)} migration(s): {', '.join(result.applied)}")
    else:
        console.print("No pending migration.")
    console.print(f"Rebuilt schema discovery from {len(result.sql_files)} file(s).")


# -- run --------------------------------------------------------------------

def _load_mapping_file(path: Path) -> list[dict]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--mapping") from exc
    if not isinstance(doc, (list, dict)):
        raise click.BadParameter("expected a JSON array of {source_field, target_field} or an object "
                                 "source → target", param_hint="--mapping")
    return normalize_mappings(doc)


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} rows"),
                    TimeElapsedColumn(), console=err_console, transient=False)


def _plan_or_exit(path: Path, profile: str | None, sheet: str | None, mapping_file: Path | None):
    """The import plan, or one line naming the file and the place, and exit code 2."""
    try:
        return pipeline.plan_import(path, profile=profile, sheet=sheet,
                                    mapping=_load_mapping_file(mapping_file) if mapping_file else None)
    except ReadError as exc:
        _fail(str(exc), code=2)
    except ValueError as exc:  # an unknown profile name
        raise click.BadParameter(str(exc), param_hint="--profile") from exc


def _print_plan(plan: pipeline.ImportPlan) -> None:
    console.print(f"[bold]{plan.name}[/]: {plan.source.summary}", highlight=False)
    if plan.profile is not None:
        how = "chosen with --profile" if plan.detection is None else plan.detection.message
        console.print(f"profile: [bold]{plan.profile.name}[/] ({plan.profile.title}); {how}", highlight=False)
    else:
        reason = plan.detection.message if plan.detection else "no profile"
        console.print(f"profile: none ({reason}); headers mapped by the synonym dictionary", highlight=False)
    if plan.mappings.field_defaults:
        console.print(f"constant fields: {json.dumps(plan.mappings.field_defaults)}", highlight=False)
    table = Table(title="Field mappings")
    for col in ("source column", "target", "goes to", "unit", "priority", "confidence", "why"):
        table.add_column(col, no_wrap=col != "why", max_width=40 if col == "why" else None)
    for m in plan.mappings.mappings:
        table.add_row(m.source_field, m.target_field, m.kind, m.unit or "", str(m.priority or ""),
                      f"{m.confidence_score:.2f}", m.why)
    console.print(table)


def _print_preview(rows: list[dict]) -> None:
    columns = ("name", "asset_type", "hostname", "fqdn", "ip_address", "operating_system", "cpu_cores", "memory_gb")
    table = Table(title=f"The first {len(rows)} rows as assets")
    for col in ("row", "outcome", *columns, "custom attributes", "warnings"):
        table.add_column(col, no_wrap=col in ("row", "outcome", "name"),
                         max_width=30 if col in ("operating_system", "custom attributes", "warnings") else None)
    for r in rows:
        fields = r["fields"]
        name = fields.get("name") or fields.get("asset_name") or fields.get("hostname") or fields.get("fqdn")
        custom = {k: v for k, v in fields.items() if k not in ASSET_COLUMNS and k != "external_ids"}
        table.add_row(str(r["row_number"]), str(r["outcome"]), str(name or ""),
                      *("" if fields.get(c) is None else str(fields.get(c)) for c in columns[1:]),
                      json.dumps(custom, default=str)[:80],
                      "; ".join(f"{w.get('field')}: {w.get('error')}" for w in r["warnings"])[:80])
    console.print(table)


def _print_outcome(name: str, run_: pipeline.ImportRun, dry_run: bool) -> None:
    table = Table(title=f"Outcome of {name}")
    table.add_column("step")
    table.add_column("count", justify="right")
    r = run_.result
    for label, value in (("records loaded", run_.loaded), ("assets created", r.created), ("matched", r.matched),
                         ("existing assets updated", r.updated), ("conflicts", r.conflicts),
                         ("invalid", r.invalid), ("already linked", r.already_linked)):
        table.add_row(label, str(value))
    console.print(table)
    if dry_run:
        console.print(f"dry run: nothing written; the file would give {r.created} new assets, {r.matched} matched "
                      f"({r.updated} updated), {r.conflicts} conflicts, {r.invalid} invalid records", highlight=False)
    if run_.conflict_ids:
        console.print(f"{len(run_.conflict_ids)} conflict(s) wait for a person "
                      "(discovery-wiring conflicts; conflicts resolve ID --action …):", highlight=False)
        for conflict_id in run_.conflict_ids:
            console.print(f"  conflict {conflict_id}", highlight=False)
    if not dry_run:
        console.print(f"data import {run_.data_import_id}\ndiscovery flow {run_.flow.discovery_flow_id}\n"
                      f"flow {run_.flow.flow_id}\nrun {r.run_id}", highlight=False)


@main.command()
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@tenant_options
@click.option("--client-name", default=QUICKSTART_CLIENT_NAME, show_default=True)
@click.option("--engagement-name", default=QUICKSTART_ENGAGEMENT_NAME, show_default=True)
@click.option("--profile", default=None, metavar="NAME",
              help="Source profile to use (default: detected from the headers); `discovery-wiring profiles` "
                   "lists them.")
@click.option("--sheet", default=None, help="Workbook sheet (default: the profile's, else the first).")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON mapping file ([{source_field, target_field}] or {source: target}); it overrides only "
                   "the columns it names.")
@click.option("--on-match", type=click.Choice(pipeline.ON_MATCH), default="refresh", show_default=True,
              help="What a record matched to an existing asset does to it: refresh (newer values), fill_empty "
                   "(only empty fields) or keep (nothing).")
@click.option("--dry-run", is_flag=True, help="Show what the file would become, and write nothing.")
@click.option("--chunk-size", type=click.IntRange(1, MAX_PAYLOAD), default=DEFAULT_CHUNK_SIZE,
              show_default=True, help="Rows per add_raw_records call.")
@click.option("--preview", "preview_rows", type=click.IntRange(0, 200), default=10, show_default=True,
              help="Rows shown as assets in a dry run.")
@pass_ctx
def run(obj: Context, file, client_id, engagement_id, client_name, engagement_name, profile, sheet,
        mapping_file, on_match, dry_run, chunk_size, preview_rows):
    """Import FILE (CSV or other delimited text in any common encoding, XLSX,
    JSON array or wrapped array, JSON Lines; default: the bundled sample) and
    turn it into linked assets, in one transaction. Exits 1 when every record
    is invalid, 2 when the file cannot be read."""
    path = file or sample_file()
    plan = _plan_or_exit(path, profile, sheet, mapping_file)
    tenant = Tenant(client_id, engagement_id)
    url = obj.migrated_url()

    with psycopg.connect(url) as conn:  # the CLI owns this connection: one transaction
        client = DiscoveryClient(conn)
        try:
            client.register_tenant(tenant, client_name, engagement_name)
            with _progress() as progress:
                task = progress.add_task(f"Importing {plan.name}", total=None)
                run_ = pipeline.run_import(client, tenant, plan, on_match=on_match, chunk_size=chunk_size,
                                           progress=lambda n: progress.advance(task, n))
        except ReadError as exc:
            conn.rollback()
            _fail(str(exc), code=2)
        rows = pipeline.preview(client, tenant, run_, preview_rows) if dry_run and preview_rows else []
        health = client.wiring_health(tenant)
        if dry_run:
            conn.rollback()
        else:
            conn.commit()

    _print_plan(plan)
    if rows:
        _print_preview(rows)
    _print_outcome(plan.name, run_, dry_run)
    if not dry_run:
        _print_health(health)
    if run_.all_invalid:
        _fail(f"every one of the {run_.loaded} records of {plan.name} is invalid (no name and no identity key)",
              hint="Check the mappings above: the column holding the name (or hostname, FQDN, IP address) must "
                   "map to it; --mapping overrides a column, --profile chooses another profile.")


@main.command()
def profiles():
    """List the source profiles (the export formats recognised by their headers)."""
    table = Table(title="Source profiles")
    for col in ("name", "title", "default sheet", "required headers"):
        table.add_column(col)
    for profile in profiles_module.catalog().profiles.values():
        table.add_row(profile.name, profile.title, profile.default_sheet or "",
                      "; ".join(" or ".join(group) for group in profile.required))
    console.print(table)


# -- health / assets ---------------------------------------------------------

def _print_health(health) -> None:
    table = Table(title="Wiring health")
    table.add_column("check")
    table.add_column("count", justify="right")
    for key in HEALTH_KEYS:
        value = int(health.get(key) or 0)
        table.add_row(key, f"[red]{value}[/]" if value else str(value))
    table.add_row("raw_records_pending (information)", str(health.get("raw_records_pending", 0)))
    quality = health.get("import_quality") or {}
    for key in ("records_invalid", "records_with_warnings", "conflicts_pending", "unmapped_columns"):
        value = int(quality.get(key) or 0)
        table.add_row(f"import quality: {key}", f"[yellow]{value}[/]" if value else str(value))
    console.print(table)
    status = health.get("health_status")
    colour = "green" if status == "healthy" else "red"
    console.print(f"health_status: [bold {colour}]{status}[/]")


@main.command()
@tenant_options
@click.option("--detail", is_flag=True, help="Include sample IDs per count.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document.")
@pass_ctx
def health(obj: Context, client_id, engagement_id, detail, as_json):
    """Wiring health of a tenant (default: the quick-start tenant)."""
    with psycopg.connect(obj.migrated_url()) as conn:
        report = DiscoveryClient(conn).wiring_health(Tenant(client_id, engagement_id), detail=detail)
        conn.rollback()
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    _print_health(report)
    if detail and report.get("samples"):
        console.print_json(json.dumps(report["samples"], default=str))


def sub_tenant_options(f):
    """Tenant options of a subcommand: when not given, the group's (quick-start by default),
    so that `conflicts --client-id X resolve ID` and `conflicts resolve ID --client-id X` agree."""
    f = click.option("--engagement-id", type=click.UUID, default=None,
                     help="Engagement UUID (default: the group's, else quick-start).")(f)
    f = click.option("--client-id", type=click.UUID, default=None,
                     help="Client account UUID (default: the group's, else quick-start).")(f)
    return f


def _tenant(ctx: click.Context, client_id, engagement_id) -> Tenant:
    """The subcommand's tenant, completed from its group's options."""
    group = ctx.parent.params if ctx.parent else {}
    return Tenant(client_id or group.get("client_id") or QUICKSTART_CLIENT_ID,
                  engagement_id or group.get("engagement_id") or QUICKSTART_ENGAGEMENT_ID)


@contextmanager
def _client(obj: Context, *, commit: bool = False) -> Iterator[DiscoveryClient]:
    """A client on a connection of the command's own: one transaction, committed
    at the end when ``commit`` (and nothing raised), else rolled back."""
    with psycopg.connect(obj.migrated_url()) as conn:
        yield DiscoveryClient(conn)
        if commit:
            conn.commit()
        else:
            conn.rollback()


def _echo_json(doc) -> None:
    click.echo(json.dumps(doc, indent=2, default=str))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str, ensure_ascii=False) if value else ""
    return str(value)


def _page_note(page, noun: str) -> str:
    return (f"{page.total_count} {noun}(s); page {page.page} of {max(page.total_pages, 1)}"
            + (" (--page N for the others)" if page.total_pages > 1 else ""))


# -- assets -----------------------------------------------------------------

# the order `assets show` lists an asset's fields in (any other field follows)
ASSET_FIELD_ORDER = (
    "id", "name", "asset_name", "asset_type", "status", "hostname", "fqdn", "ip_address", "mac_address",
    "operating_system", "os_version", "cpu_cores", "memory_gb", "storage_gb", "environment", "location",
    "datacenter", "application_name", "business_owner", "technical_owner", "department", "criticality",
    "external_ids", "custom_attributes", "discovery_method", "discovery_source", "discovery_flow_id",
    "master_flow_id", "raw_import_records_id", "created_at", "updated_at", "deleted_at",
)

@main.group(invoke_without_command=True)
@tenant_options
@click.option("--flow", "flow_id", type=click.UUID, default=None, help="Any flow ID of the tenant.")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--page-size", type=int, default=50, show_default=True)
@click.option("--asset-type", default=None)
@click.option("--status", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document.")
@click.pass_context
def assets(ctx, client_id, engagement_id, flow_id, page, page_size, asset_type, status, as_json):
    """List assets, a page at a time (default: the quick-start tenant);
    `assets show ID` shows one with its lineage and change history."""
    if ctx.invoked_subcommand is not None:
        return
    with _client(ctx.obj) as client:
        result = client.list_assets(Tenant(client_id, engagement_id), flow_id=flow_id, page=page,
                                    page_size=page_size, asset_type=asset_type, status=status)
    if as_json:
        _echo_json(result.raw)
        return
    p = result.pagination
    table = Table(title=f"Assets: page {p.get('page')} of {p.get('total_pages')} ({p.get('total_count')} in all)")
    columns = ("name", "asset_type", "hostname", "ip_address", "status", "id")
    for col in columns:
        table.add_column(col, no_wrap=col == "id")
    for asset in result.assets:
        table.add_row(*("" if asset.get(col) is None else str(asset.get(col)) for col in columns))
    console.print(table)
    if result.metadata.get("page_size_capped"):
        console.print(f"page size capped to {result.metadata.get('max_page_size')}")


@assets.command(name="show")
@click.argument("asset_id", type=click.UUID)
@sub_tenant_options
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document.")
@click.pass_context
def assets_show(ctx, asset_id, client_id, engagement_id, as_json):
    """Show asset ASSET_ID: its fields, lineage, linked raw records and change history."""
    with _client(ctx.obj) as client:
        detail = client.get_asset(_tenant(ctx, client_id, engagement_id), asset_id)
    if as_json:
        _echo_json(detail)
        return
    asset = detail.asset
    title = f"Asset {asset.get('name')} ({asset.get('id')})" + (" [red]deleted[/]" if detail.deleted else "")
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    shown = [f for f in ASSET_FIELD_ORDER if f in asset] + [f for f in asset if f not in ASSET_FIELD_ORDER]
    for field in shown:
        if asset[field] not in (None, {}, []) and field != "field_mappings_used":
            table.add_row(field, _cell(asset[field]))
    console.print(table)

    table = Table(title="Lineage", show_header=False)
    table.add_column("link", style="bold")
    table.add_column("value", no_wrap=True)
    for key in ("import_name", "filename", "row_number", "data_import_id", "raw_import_record_id",
                "discovery_flow_id", "master_flow_id"):
        table.add_row(key, _cell(detail.lineage.get(key)))
    console.print(table)

    table = Table(title="Raw records linked to it" + (" (first 500)" if detail.get("records_truncated") else ""))
    table.add_column("row", justify="right")
    table.add_column("outcome")
    table.add_column("processed", no_wrap=True)
    table.add_column("import id / record id", no_wrap=True)
    table.add_column("notes", min_width=20)
    for record in detail.records:
        table.add_row(_cell(record.get("row_number")), _cell(record.get("processing_status")),
                      _cell(record.get("processed_at"))[:19].replace("T", " "),
                      f"{_cell(record.get('data_import_id'))}\n[dim]{_cell(record.get('id'))}[/]",
                      _cell(record.get("processing_notes")))
    console.print(table)

    if not detail.changes:
        console.print("Change history: no change since it was created.")
        return
    table = Table(title="Change history, newest first" + (" (500 newest)" if detail.get("changes_truncated") else ""))
    table.add_column("changed", no_wrap=True)
    table.add_column("field", min_width=16)
    table.add_column("old value")
    table.add_column("new value")
    table.add_column("by", no_wrap=True)
    table.add_column("reverted", no_wrap=True)
    for change in detail.changes:
        by = (f"conflict {change['conflict_id']}" if change.get("conflict_id")
              else f"run {change['run_id']}" if change.get("run_id")
              else f"record {change['raw_import_record_id']}" if change.get("raw_import_record_id")
              else "undo_import (a revert)")  # the one writer of changes with no run, conflict or record
        table.add_row(_cell(change.get("changed_at"))[:19].replace("T", " "), _cell(change.get("field")),
                      _cell(change.get("old_value")), _cell(change.get("new_value")), by,
                      _cell(change.get("reverted_at"))[:19].replace("T", " "))
    console.print(table)


# -- conflicts --------------------------------------------------------------

CONFLICT_FIELDS = ("name", "asset_type", "hostname", "fqdn", "ip_address", "operating_system", "external_ids")
RESOLVE_USAGE = ("discovery-wiring conflicts resolve ID --action " + "|".join(CONFLICT_ACTIONS)
                 + " [--fields f1,f2]")


def conflict_table(conflict: Conflict) -> Table:
    """One conflict as a table: the record's identity fields beside each
    candidate's (the existing asset first), the row of the deciding key highlighted."""
    key_field = str(conflict.get("conflict_key") or "").split("=", 1)[0]
    new = dict(conflict.get("new_asset_data") or {})
    new_external = {k.split(".", 1)[1]: v for k, v in new.items() if k.startswith("external_ids.")}
    if new_external:
        new["external_ids"] = {**(new.get("external_ids") or {}), **new_external}
    table = Table(title=f"Conflict {conflict['id']}", title_justify="left",
                  caption=(f"{conflict.get('conflict_type')}: {conflict.get('conflict_key')} · row "
                           f"{conflict.get('row_number')} of import {conflict.get('data_import_id')} · "
                           f"{conflict.get('resolution_status')}"
                           + (f" ({conflict.get('resolution_action')})" if conflict.get("resolution_action") else "")),
                  caption_justify="left")
    table.add_column("field", style="bold")
    table.add_column(f"new record (row {conflict.get('row_number')})")
    existing = str(conflict.existing_asset_id)
    for n, candidate in enumerate(conflict.candidates, 1):
        label = "existing asset" if candidate.get("id") == existing else f"candidate {n}"
        table.add_column(label + (" (deleted)" if candidate.get("deleted_at") else ""))
    table.add_row("id", _cell(conflict.get("raw_import_record_id")), *(c.get("id") for c in conflict.candidates))
    for field in CONFLICT_FIELDS:
        table.add_row(field, _cell(new.get(field)), *(_cell(c.get(field)) for c in conflict.candidates),
                      style="yellow" if field == key_field else None)
    return table


def print_conflicts(page: ConflictPage, out: Console | None = None) -> None:
    """Print a page of ``list_conflicts``: a table per conflict (see
    :func:`conflict_table`), the page it is, and how to resolve one. Used by
    `conflicts` and by whatever reports the conflicts a run left."""
    out = out or console
    status = page.filters.get("status") or "any status"
    if not page.conflicts:
        out.print(f"No conflict ({status}).")
        return
    for conflict in page.conflicts:
        out.print(conflict_table(conflict))
    out.print(_page_note(page, f"{status} conflict"), highlight=False)
    if any(c.pending for c in page.conflicts):
        out.print(f"Resolve one: {RESOLVE_USAGE}", highlight=False, markup=False)


@main.group(invoke_without_command=True)
@tenant_options
@click.option("--flow", "flow_id", type=click.UUID, default=None, help="Any flow ID of the tenant.")
@click.option("--status", type=click.Choice(["pending", "resolved", "all"]), default="pending", show_default=True)
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--page-size", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document.")
@click.pass_context
def conflicts(ctx, client_id, engagement_id, flow_id, status, page, page_size, as_json):
    """List conflicts (pending by default), each with its candidate assets
    side by side; `conflicts resolve ID --action ...` resolves one."""
    if ctx.invoked_subcommand is not None:
        return
    with _client(ctx.obj) as client:
        result = client.list_conflicts(Tenant(client_id, engagement_id), flow_id=flow_id, status=status,
                                       page=page, page_size=page_size)
    if as_json:
        _echo_json(result.raw)
        return
    print_conflicts(result)


@conflicts.command(name="resolve")
@click.argument("conflict_id", type=click.UUID)
@click.option("--action", type=click.Choice(CONFLICT_ACTIONS), required=True,
              help="keep_existing: link to the existing asset; replace_with_new: also write the record's "
                   "non-identity fields to it; merge: write only --fields; create_new: the record becomes "
                   "its own asset.")
@click.option("--fields", default=None, metavar="F1,F2", help="The fields to merge (with --action merge).")
@sub_tenant_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def conflicts_resolve(ctx, conflict_id, action, fields, client_id, engagement_id, as_json):
    """Resolve conflict CONFLICT_ID and link its raw record (committed)."""
    merge_fields = [f.strip() for f in fields.split(",") if f.strip()] if fields is not None else None
    with _client(ctx.obj, commit=True) as client:
        asset_id = client.resolve_asset_conflict(_tenant(ctx, client_id, engagement_id), conflict_id, action,
                                                 merge_fields=merge_fields)
    if as_json:
        _echo_json({"conflict_id": conflict_id, "action": action, "asset_id": asset_id})
        return
    console.print(f"Conflict {conflict_id} resolved ({action}): its record is linked to asset {asset_id}.",
                  highlight=False)


# -- imports ----------------------------------------------------------------

@main.group(invoke_without_command=True)
@tenant_options
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--page-size", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document.")
@click.pass_context
def imports(ctx, client_id, engagement_id, page, page_size, as_json):
    """List data imports, newest first, with their status and outcome counts;
    `imports undo ID` takes one back."""
    if ctx.invoked_subcommand is not None:
        return
    with _client(ctx.obj) as client:
        result = client.list_data_imports(Tenant(client_id, engagement_id), page=page, page_size=page_size)
    if as_json:
        _echo_json(result.raw)
        return
    table = Table(title="Data imports, newest first")
    table.add_column("import", min_width=12)
    table.add_column("status", min_width=10)
    table.add_column("records", justify="right")
    table.add_column("outcomes", min_width=12)
    table.add_column("import id / flow id", no_wrap=True)
    for item in result.imports:
        outcomes = item.outcomes
        created = str(item.get("created_at") or "")[:16].replace("T", " ")
        table.add_row("\n".join(filter(None, (_cell(item.get("import_name")), f"[dim]{_cell(item.get('filename'))}[/]",
                                                f"[dim]{created}[/]"))),
                      _cell(item.get("status")) + (f"\n[dim]flow {item['flow_status']}[/]" if item.get("flow_status")
                                                   else ""),
                      _cell(item.get("total_records")),
                      "\n".join(f"{outcomes[key]} {key}" for key in OUTCOMES if outcomes[key]) or "-",
                      f"{_cell(item.get('id'))}\n[dim]{_cell(item.get('flow_id'))}[/]")
    console.print(table)
    console.print(_page_note(result, "import"), highlight=False)


@imports.command(name="undo")
@click.argument("data_import_id", type=click.UUID)
@click.option("--apply", is_flag=True, help="Take the import back and commit (default: dry run).")
@sub_tenant_options
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document.")
@click.pass_context
def imports_undo(ctx, data_import_id, apply, client_id, engagement_id, as_json):
    """Take import DATA_IMPORT_ID back: a dry run by default, which prints what
    --apply would do (assets soft-deleted, changes reverted or kept, records
    discarded, conflicts closed)."""
    with _client(ctx.obj, commit=apply) as client:
        report = client.undo_import(_tenant(ctx, client_id, engagement_id), data_import_id, dry_run=not apply)
    if as_json:
        _echo_json(report)
        return
    console.print(f"import {data_import_id}", highlight=False)
    table = Table(title="undo_import" + ("" if apply else " (dry run)"))
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in report.counts.items():
        table.add_row(key.replace("_", " "), str(value))
    console.print(table)
    console.print("Applied and committed." if apply else "Dry run: nothing was written; --apply takes the import back.")


# -- serve ------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@tenant_options
@pass_ctx
def serve(obj: Context, host, port, client_id, engagement_id):
    """Serve the HTTP API and the inventory page at / (the tenant given is the
    one the page shows first). Needs the http extra: pip install 'discovery-wiring[http]'."""
    try:
        import uvicorn

        from .http import create_app
    except ImportError as exc:
        _fail(f"`serve` needs the http extra ({exc.name} is not installed)",
              hint="pip install 'discovery-wiring[http]'")
    app = create_app(obj.migrated_url(), Tenant(client_id, engagement_id))
    err_console.print(f"Serving the inventory page on http://{host}:{port}/ and the API docs on "
                      f"http://{host}:{port}/docs (Ctrl+C stops).", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="info")


# -- repair -----------------------------------------------------------------

@main.command()
@tenant_options
@click.option("--all", "all_tenants", is_flag=True, help="Every tenant in migration.engagements.")
@click.option("--apply", is_flag=True, help="Write the repairs (default: dry run).")
@click.option("--validate", is_flag=True, help="Then VALIDATE every NOT VALID constraint of schema migration.")
@pass_ctx
def repair(obj: Context, client_id, engagement_id, all_tenants, apply, validate):
    """Repair wiring left behind by older code (discovery.repair_wiring)."""
    failed = False
    with psycopg.connect(obj.migrated_url()) as conn:
        if all_tenants:
            tenants = [Tenant(*row) for row in conn.execute(
                "SELECT client_account_id, id FROM migration.engagements ORDER BY 1, 2").fetchall()]
        else:
            tenants = [Tenant(client_id, engagement_id)]
        client = DiscoveryClient(conn)
        table = Table(title="repair_wiring" + ("" if apply else " (dry run)"))
        for col in ("client account", "engagement", "repaired", "remaining"):
            table.add_column(col, no_wrap=col in ("client account", "engagement"))
        for tenant in tenants:
            report = client.repair_wiring(tenant, dry_run=not apply)
            repaired = {k: v for k, v in (report.get("repaired") or {}).items() if v}
            remaining = {k: v for k, v in (report.get("remaining") or {}).items() if v}
            table.add_row(str(tenant.client_account_id), str(tenant.engagement_id),
                          json.dumps(repaired) if repaired else "-", json.dumps(remaining) if remaining else "-")
        console.print(table)
        if apply:
            conn.commit()
        else:
            conn.rollback()
        if validate:
            failed = not _validate_constraints(conn)
    if failed:
        sys.exit(1)


def _validate_constraints(conn: psycopg.Connection) -> bool:
    """VALIDATE the NOT VALID constraints (migrate.validate_constraints), keep
    those that pass and show which fail and why. True when all validate."""
    conn.rollback()
    checks = validate_constraints(conn)
    conn.commit()
    if not checks:
        console.print("Every constraint of schema migration is valid.")
        return True
    table = Table(title="VALIDATE CONSTRAINT")
    for col in ("table", "constraint", "result"):
        table.add_column(col)
    for check in checks:
        table.add_row(check.relation, check.name,
                      "[green]validated[/]" if check.error is None else f"[red]blocked[/]: {check.reason}")
    console.print(table)
    return all(check.error is None for check in checks)


# -- db ---------------------------------------------------------------------

@main.group(name="db", invoke_without_command=True)
@click.pass_context
def db_(ctx):
    """Where the database is; `db start` / `db stop` the embedded one."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(status)



def _configured_note(obj: Context) -> bool:
    if obj.configured_url:
        console.print(f"Using the configured database ({db.URL_ENV} or --database-url): "
                      f"{_masked(obj.configured_url)}", highlight=False)
        return True
    return False


@db_.command()
@pass_ctx
def status(obj: Context):
    """Show which database is used and whether the embedded server runs."""
    if _configured_note(obj):
        console.print("The embedded PostgreSQL is not used.")
        return
    st = db.embedded_status()
    console.print(f"Embedded PostgreSQL data directory: {st.pgdata}", highlight=False)
    if not st.initialized:
        console.print("Not initialised yet: any command (or `db start`) creates it.")
    elif st.running:
        console.print(f"Running{' (kept running by `db start`)' if st.kept_running else ''}: {st.url}",
                      highlight=False)
    else:
        console.print("Stopped: commands start it for their own duration; `db start` keeps it running.")


@db_.command()
@pass_ctx
def start(obj: Context):
    """Start the embedded PostgreSQL and keep it running."""
    if _configured_note(obj):
        console.print("Nothing to start: the embedded PostgreSQL is only used when no URL is configured.")
        return
    with err_console.status("Starting the embedded PostgreSQL…"):
        url = db.start_embedded(keep_running=True)
    click.echo(f"Embedded PostgreSQL running: {url}")
    click.echo(f"Use it elsewhere with {db.URL_ENV}='{url}'")


@db_.command()
@pass_ctx
def stop(obj: Context):
    """Stop the embedded PostgreSQL."""
    if _configured_note(obj):
        console.print("Nothing to stop: the embedded PostgreSQL is only used when no URL is configured.")
        return
    if db.stop_embedded():
        console.print("Embedded PostgreSQL stopped.")
    else:
        console.print("The embedded PostgreSQL was not running.")


# -- citus ------------------------------------------------------------------

@main.group(name="citus")
def citus_():
    """Run on a Citus cluster (the database URL is the coordinator's)."""


@citus_.command()
@click.option("--shard-count", type=click.IntRange(1, 64000), default=None,
              help="Shards of the tenant tables' co-location group when it is created "
                   "(default: citus.shard_count, 32). Ignored once the tables are distributed.")
@click.option("--owner-login/--no-owner-login", default=True, show_default=True,
              help="Give discovery_owner LOGIN: calls that are not delegated open node connections "
                   "as the functions' owner.")
@pass_ctx
def distribute(obj: Context, shard_count, owner_login):
    """Distribute a migrated database by tenant (idempotent; migrates first if needed)."""
    from . import citus

    url = obj.migrated_url()
    try:
        report = citus.distribute(url, shard_count=shard_count, owner_login=owner_login)
    except citus.CitusError as exc:
        _fail(str(exc))
    console.print(f"Citus {report.citus_version}; workers: {', '.join(report.workers)}", highlight=False)
    table = Table(title="citus distribute")
    table.add_column("what")
    table.add_column("this run", justify="right")
    table.add_column("names")
    for label, items in (("tables distributed", report.tables_distributed),
                         ("tables already distributed", report.tables_already),
                         ("foreign keys re-added", report.foreign_keys_readded),
                         ("API functions delegated", report.functions_delegated),
                         ("functions propagated", report.functions_propagated),
                         ("local rows moved to shards", report.local_rows_removed)):
        shown = ", ".join(items[:6]) + (f", … ({len(items) - 6} more)" if len(items) > 6 else "")
        table.add_row(label, str(len(items)), shown)
    console.print(table)
    console.print(f"discovery_owner can log in: {report.owner_login}")


# -- dbt --------------------------------------------------------------------

@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                "help_option_names": []})
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
@pass_ctx
def dbt(obj: Context, dbt_args):
    """Run dbt on the shipped dbt project (e.g. `discovery-wiring dbt build`).

    dbt's target/ and logs/ go to a folder of this invocation under the
    per-user cache (DISCOVERY_DBT_DIR overrides it; DBT_TARGET_PATH and
    DBT_LOG_PATH win)."""
    project = dbt_dir()
    if not (project / "dbt_project.yml").is_file():
        _fail(f"no dbt project at {project}")
    exe = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))
    if not Path(exe).exists():
        _fail("dbt is not installed", hint="pip install 'discovery-wiring[dbt]'")
    env = dbt_settings.run_env(obj.migrated_url(), project=project)
    args = list(dbt_args) or ["--help"]
    if args[0] not in ("--help", "-h", "--version"):
        args += ["--project-dir", str(project), "--profiles-dir", str(project)]
    status = subprocess.call([exe, *args], env=env)
    dbt_settings.keep_parse(env, project)
    sys.exit(status)


if __name__ == "__main__":
    main()
