"""Package layout for setuptools (metadata lives in pyproject.toml).

The top-level folders ``migrations/``, ``sql/`` and ``dbt/`` are shipped inside
the package as ``discovery_wiring._migrations``, ``discovery_wiring._sql`` and
``discovery_wiring._dbt`` (``package-dir`` maps them; no copy, no build step),
together with the bundled sample in ``discovery_wiring/data``. At run time
``discovery_wiring.resources`` finds them with importlib.resources, and falls back
to the repository folders when running from a source checkout.
"""

from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent
SHIPPED = {"_migrations": "migrations", "_sql": "sql", "_dbt": "dbt"}

package_dir = {"": "python_client"}
packages = ["discovery_wiring", "discovery_wiring.data", "discovery_wiring.http"]
package_data = {"discovery_wiring.data": ["*"], "discovery_wiring.http": ["static/*"]}

for sub, folder in SHIPPED.items():
    if (HERE / folder).is_dir():
        name = f"discovery_wiring.{sub}"
        package_dir[name] = folder
        packages.append(name)
        package_data[name] = ["**/*"]

setup(
    package_dir=package_dir,
    packages=packages,
    package_data=package_data,
    include_package_data=False,
    exclude_package_data={"": ["__pycache__/*", "*.pyc", "target/**", "logs/**", "dbt_packages/**"]},
)
