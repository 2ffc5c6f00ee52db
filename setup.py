"""Build hook: the repository's templates/ and schemas/ travel in the wheel as pipeline/_data/.

They stay top-level folders (the one copy people edit); `pip install .`, `pip wheel .` and a
wheel built from the sdist (MANIFEST.in carries them) all copy them here. An editable install
skips the copy: pipeline.sources.site.packaged() then reads the repository's folders.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("templates", "schemas")


class BuildWithTheme(build_py):
    """build_py that also copies the theme and the JSON Schema into the package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder in SHIPPED:
            target = Path(self.build_lib) / "pipeline" / "_data" / folder
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / folder, target,
                            ignore=shutil.ignore_patterns(".*", "__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithTheme})
