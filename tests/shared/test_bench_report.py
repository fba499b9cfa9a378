"""The bench's report: measuring the RPC part again keeps the services' sections already written."""

from bench.report import carry_sections, render_section

RPC_ONLY = "# Benchmarks\n\n## RPC\n\nnew figures\n\n## Machine\n\n- 2 CPUs\n"


def _section(module: str, body: str) -> str:
    return render_section({"module": module, "markdown": body, "seconds": 1.0, "error": None})


def test_the_sections_of_the_previous_report_are_kept_in_order_before_the_machine():
    previous = ("# Benchmarks\n\n## RPC\n\nold figures\n\n" + _section("evaluation_bench", "## Evaluation\n\nE")
                + "\n" + _section("ticketing_bench", "## Ticketing\n\nT") + "\n## Machine\n\n- old\n")
    text = carry_sections(RPC_ONLY, previous)
    assert "new figures" in text and "old figures" not in text
    assert text.index("## Evaluation") < text.index("## Ticketing") < text.index("## Machine")
    assert text.count("<!-- /bench:evaluation_bench -->") == 1 and "- old" not in text


def test_a_previous_report_without_sections_changes_nothing():
    assert carry_sections(RPC_ONLY, "# Benchmarks\n\nno sections here\n") == RPC_ONLY


def test_a_section_whose_end_marker_is_missing_is_not_carried_half():
    previous = "<!-- bench:matching_bench 1 s -->\n## Matching\n(cut off)\n"
    assert carry_sections(RPC_ONLY, previous) == RPC_ONLY
