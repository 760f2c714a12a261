import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = ("Create the demo data set: two manufacturers, three distributors each with outlets around their city, "
            "SKUs, price lists, schemes, and a user for every role (credentials printed at the end).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="random seed; a seed always yields the same data")
        parser.add_argument("--outlets-per-distributor", type=int, default=600)
        parser.add_argument("--skus", type=int, default=120, help="SKUs per tenant")
        parser.add_argument("--reset", action="store_true",
                            help="delete the demo tenants, their data and the demo users first")

    def handle(self, *args: object, **options: Any) -> None:
        # Imported here: the builder lives in catalog, which sits above tenancy in the import order.
        from catalog import demo

        outlets, skus = int(options["outlets_per_distributor"]), int(options["skus"])
        if not 1 <= outlets <= 999_999:
            raise CommandError("--outlets-per-distributor must be between 1 and 999999.")
        if skus < 1:
            raise CommandError("--skus must be at least 1.")
        present = demo.demo_present()
        if present and not options["reset"]:
            found = ", ".join(present[:4]) + (", ..." if len(present) > 4 else "")
            self.stdout.write(f"Demo data already present ({found}); nothing to do. Run with --reset to rebuild it.")
            return
        if present:
            demo.demo_reset()
            self.stdout.write("Removed the previous demo tenants and users.")
        started = time.monotonic()
        summary = demo.seed_demo(seed=int(options["seed"]), outlets_per_distributor=outlets, skus=skus,
                                 log=self.stdout.write if int(options["verbosity"]) > 1 else None)
        counts = summary.counts
        self.stdout.write(self.style.SUCCESS(
            f"Demo data (seed {options['seed']}): {counts['tenants']} tenants, {counts['distributors']} distributors, "
            f"{counts['outlets']:,} outlets, {counts['skus']} SKUs in {time.monotonic() - started:.1f} s."
        ))
        header = ("username", "password", "role", "tenant", "distributor")
        rows = [(c.username, c.password, c.role, c.tenant or "-", c.distributor or "-") for c in summary.credentials]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        self.stdout.write("")
        for row in [header, tuple("-" * w for w in widths), *rows]:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        self.stdout.write("\nAPI keys (shown once; send as 'Authorization: Api-Key <key>'):")
        for slug, raw in summary.api_keys:
            self.stdout.write(f"  {slug:<10} {raw}")
