"""The CLI skeleton: every step is registered, has --help, and bad input exits 2 with one line."""
import subprocess
import sys

from click.testing import CliRunner

from tfvocab.cli import STEPS, main


def test_help_lists_every_step():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for step in STEPS:
        assert step in result.output


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "tfvocab" in result.output


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "tfvocab.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "pipeline order" in out.stdout
