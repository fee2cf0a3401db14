"""Build step (everything else is in pyproject.toml): the migrations in sql/ ship inside the
package as listings_pipeline/migrations/, so an installed wheel finds them without a checkout."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithMigrations(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "listings_pipeline" / "migrations"
        target.mkdir(parents=True, exist_ok=True)
        for migration in sorted((ROOT / "sql").glob("*.sql")):
            (target / migration.name).write_bytes(migration.read_bytes())


setup(cmdclass={"build_py": BuildWithMigrations})
