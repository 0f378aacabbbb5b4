"""Django: a squashed migration (``replaces``) counts as applied once every migration it
replaces is applied, and those replaced migrations are not "ahead" of the release."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from checks.base import RunStatus
from tests.realtools.conftest import Engine, audit, codes, manifest, run

SETTINGS = """
import os
SECRET_KEY = "test"
INSTALLED_APPS = ["shop"]
USE_TZ = True
DATABASES = {"default": %(db)r}
"""

MODEL_V1 = """
from django.db import models
class Order(models.Model):
    total = models.DecimalField(max_digits=10, decimal_places=2)
"""
MODEL_V2 = MODEL_V1 + "    note = models.CharField(max_length=50, default='')\n"
MODEL_V3 = MODEL_V2 + "    paid = models.BooleanField(default=False)\n"


def django_db(engine: Engine) -> dict[str, object]:
    if engine.dialect == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(engine.path)}
    if engine.dialect == "postgresql":
        return {"ENGINE": "django.db.backends.postgresql", "NAME": engine.name,
                "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}  # fmt: skip
    return {"ENGINE": "django.db.backends.mysql", "NAME": engine.name, "USER": "root",
            "HOST": "127.0.0.1", "PORT": "3306"}  # fmt: skip


class Project:
    """A one-app Django project driven by ``manage.py``-equivalent ``django-admin`` calls."""

    def __init__(self, root: Path, engine: Engine) -> None:
        pytest.importorskip("django", reason="Django is not installed (pip install '.[test]')")
        self.root = root
        (root / "shop" / "migrations").mkdir(parents=True)
        (root / "shop" / "__init__.py").write_text("")
        (root / "shop" / "migrations" / "__init__.py").write_text("")
        (root / "settings.py").write_text(SETTINGS % {"db": django_db(engine)})
        if engine.dialect == "mysql":  # Django's MySQL backend through PyMySQL
            (root / "sitecustomize.py").write_text(
                "import pymysql\npymysql.version_info = (2, 2, 2, 'final', 0)\n"
                "pymysql.install_as_MySQLdb()\n"
            )

    def admin(self, *args: str) -> str:
        env = {"DJANGO_SETTINGS_MODULE": "settings", "PYTHONPATH": str(self.root)}
        return run([sys.executable, "-m", "django", *args], cwd=self.root, env=env)

    def model(self, text: str) -> None:
        (self.root / "shop" / "models.py").write_text(text)

    def plan(self) -> str:
        return self.admin("showmigrations", "--plan")


def three_migrations(tmp_path: Path, engine: Engine) -> Project:
    project = Project(tmp_path / "proj", engine)
    for i, text in enumerate((MODEL_V1, MODEL_V2, MODEL_V3), start=1):
        project.model(text)
        project.admin("makemigrations", "shop", "-n", f"step{i}")
    return project


async def test_originals_applied_then_the_release_squashes_them(
    engine: Engine, tmp_path: Path
) -> None:
    """The ledger holds 0001..0003; the new release's plan lists only the squash."""
    project = three_migrations(tmp_path, engine)
    project.admin("migrate", "shop")
    project.admin("squashmigrations", "shop", "0003", "--noinput")
    plan = project.plan()
    assert "0001_squashed_0003" in plan
    result = await audit(engine, "django", manifest=manifest(tmp_path, plan))
    assert result.status == RunStatus.PASS, result.summary
    assert codes(result) == []
    project.admin("migrate", "shop")  # records the squash too; still up to date
    again = await audit(engine, "auto", manifest=manifest(tmp_path, project.plan()))
    assert again.status == RunStatus.PASS, again.summary
    assert codes(again) == []


async def test_a_fresh_database_migrated_with_the_squash_is_up_to_date(
    engine: Engine, tmp_path: Path
) -> None:
    project = three_migrations(tmp_path, engine)
    project.admin("squashmigrations", "shop", "0003", "--noinput")
    project.admin("migrate", "shop")
    result = await audit(engine, "django", manifest=manifest(tmp_path, project.plan()))
    assert result.status == RunStatus.PASS, result.summary


async def test_squash_not_yet_applied_and_a_new_migration_pending(
    engine: Engine, tmp_path: Path
) -> None:
    project = three_migrations(tmp_path, engine)
    project.admin("migrate", "shop", "0002")
    project.admin("squashmigrations", "shop", "0003", "--noinput")
    project.model(MODEL_V3 + "    ref = models.CharField(max_length=10, default='')\n")
    project.admin("makemigrations", "shop", "-n", "step4")
    plan = project.plan()
    result = await audit(engine, "django", manifest=manifest(tmp_path, plan))
    assert result.status == RunStatus.FAIL
    assert codes(result) == ["migrations.pending"]
    message = result.findings[0].message
    assert "shop.0003_step3" in message and "shop.0004_step4" in message, message
    assert os.path.exists(tmp_path)
