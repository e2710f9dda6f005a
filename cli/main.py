"""The ``kilonova`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from cli import hosts, identity
from cli.datadir import secure_data_dir
from common.errors import ConfigError, SchemaBehind
from common.log import setup_logging
from common.service import Interrupted
from common.settings import Settings, load_settings, render_sample

LOG = logging.getLogger("kilonova")

SERVICES = ("api", "placement", "scheduler", "conductor", "compute", "all")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kilonova", description="Kilonova control plane")
    parser.add_argument("--config", help="TOML config file (default: $KILONOVA_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a service")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--data-dir", help="where SQLite files and images live")
    serve.add_argument("--port", type=int, help="HTTP port (api, placement, all)")
    serve.add_argument("--host", help="HTTP listen address (api, placement, all)")
    serve.add_argument("--fake-hosts", type=int, help="simulated hosts (fake driver)")
    dbp = sub.add_parser("db", help="database schema")
    dbp.add_argument("action", choices=["upgrade"])
    cfg = sub.add_parser("config", help="configuration helpers")
    cfg.add_argument("action", choices=["sample"])
    pol = sub.add_parser("policy", help="policy rules (defaults and the policy file)")
    pol.add_argument("action", choices=["sample"])
    pol.add_argument("--service", choices=["api", "placement"], default="api",
                     help="api: compute and image APIs (default); placement")
    states = sub.add_parser("states", help="the server lifecycle table")
    states.add_argument("--dot", action="store_true", required=True,
                        help="print it as a Graphviz digraph")
    identity.add_parsers(sub)
    hosts.add_parsers(sub)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    settings = load_settings(args.config, **overrides)
    if getattr(args, "service", None) == "all":
        updates: dict[str, Any] = {}
        # The embedded default simulates a small cloud of four hosts.
        fields_set = settings.compute.model_fields_set
        if "fake_hosts" not in fields_set:
            updates["fake_hosts"] = 4
        if updates:
            settings.compute = settings.compute.model_copy(update=updates)
    if getattr(args, "fake_hosts", None):
        settings.compute = settings.compute.model_copy(update={"fake_hosts": args.fake_hosts})
    for attr, section in (("port", "api"), ("host", "api")):
        value = getattr(args, attr, None)
        if value is not None:
            target = "placement" if args.service == "placement" else section
            part = getattr(settings, target)
            setattr(settings, target, part.model_copy(update={attr: value}))
    return settings


def _policy_sample(service: str) -> str:
    """The default rules as a commented policy file for ``[auth] policy_file``."""
    from common.policy import Enforcer

    if service == "placement":
        from placement import policies

        return Enforcer(policies.DEFAULTS).sample("Kilonova placement policy")
    from compute_api.runtime import api_enforcer

    return api_enforcer(None).sample("Kilonova compute and image API policy")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "config":
        sys.stdout.write(render_sample())
        return 0
    if args.command == "policy":
        sys.stdout.write(_policy_sample(args.service))
        return 0
    if args.command in hosts.COMMANDS:
        return hosts.run(args)
    if args.command == "states":
        from common.lifecycle import to_dot

        sys.stdout.write(to_dot())
        return 0
    try:
        settings = _settings(args)
        setup_logging(settings.log.level, settings.log.format)
        secure_data_dir(settings.data_dir)
        if args.command in identity.COMMANDS:
            return identity.run(args, settings)
        if args.command == "db":
            from common import db

            db.upgrade("compute", settings.compute_db_url)
            db.upgrade("placement", settings.placement_db_url)
            print("compute and placement databases are at the newest revision")
            return 0
        from cli.serve import serve

        serve(args.service, settings)
        return 0
    except Interrupted as exc:
        # What had started was stopped on the way out of serve().
        LOG.info("%s", exc)
        return 0
    except (ConfigError, SchemaBehind) as exc:
        print(f"kilonova: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
