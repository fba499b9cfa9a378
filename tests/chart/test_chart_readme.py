"""charts/redprop/README.md is generated from values.yaml's @param lines and is current."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import yaml

from tests.chart.chartlib import CHART_DIR, ROOT

SCRIPT = ROOT / "scripts" / "chart-readme.py"
_spec = importlib.util.spec_from_file_location("chart_readme", SCRIPT)
chart_readme = importlib.util.module_from_spec(_spec)
sys.modules["chart_readme"] = chart_readme  # dataclasses look their module up there
_spec.loader.exec_module(chart_readme)

VALUES_TEXT = (CHART_DIR / "values.yaml").read_text(encoding="utf-8")


def test_the_committed_chart_readme_is_what_values_yaml_gives():
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_value_is_documented_and_every_param_names_a_value():
    sections = chart_readme.parse(VALUES_TEXT.splitlines())
    assert chart_readme.problems(sections, yaml.safe_load(VALUES_TEXT)) == []
    documented = [p for s in sections for p, _ in s.params]
    assert len(documented) == len(set(documented)), "a value documented twice"
    readme = (CHART_DIR / "README.md").read_text(encoding="utf-8")
    for path in documented:
        assert f"| `{path}` |" in readme


def test_the_generator_catches_undocumented_values_unknown_params_and_a_stale_readme():
    text = VALUES_TEXT + "\n## @param tests.colour The colour of the test pod\nextraThing:\n  nested: 1\n"
    found = chart_readme.problems(chart_readme.parse(text.splitlines()), yaml.safe_load(text))
    assert "@param tests.colour: no such key in values.yaml" in found
    assert "extraThing.nested: not documented by a @param" in found
    sections = chart_readme.parse(VALUES_TEXT.splitlines())
    values = yaml.safe_load(VALUES_TEXT)
    values["serviceDefaults"]["terminationGracePeriodSeconds"] = 45  # a changed default changes the README
    assert "| `serviceDefaults.terminationGracePeriodSeconds` | Seconds a stopping pod gets to finish its workers | `45` |" \
        in chart_readme.render(sections, values)
    assert chart_readme.render(sections, values) != (CHART_DIR / "README.md").read_text(encoding="utf-8")
