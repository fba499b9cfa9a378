"""The bench's profile summaries (bench/profiling.py) count what py-spy recorded, rooted where asked."""

from bench.profiling import fold, main, rooted, summary

RAW = """main (/srv/app/x.py:1);handle (redprop/services/a.py:3);query (sqlalchemy/engine.py:9) 6
main (/srv/app/x.py:1);handle (redprop/services/a.py:4) 2
main (/srv/app/x.py:1);setup (redprop/testing/s.py:2) 2
not a stack line
"""


def test_fold_names_frames_by_their_last_folder_and_adds_up_lines_of_one_function():
    stacks = fold(RAW)
    assert sum(stacks.values()) == 10
    assert stacks[("main (app/x.py)", "handle (services/a.py)")] == 2


def test_rooted_keeps_only_the_profiled_path_from_its_root_up():
    stacks = rooted(fold(RAW), "handle (")
    assert sum(stacks.values()) == 8
    assert all(stack[0].startswith("handle") for stack in stacks)


def test_summary_shares_inclusive_and_own():
    text = summary(rooted(fold(RAW), "handle ("), "t")
    inclusive, own = text.split("share  own code")
    assert "100.0% handle (services/a.py)" in inclusive
    assert " 75.0% query (sqlalchemy/engine.py)" in own
    assert " 25.0% handle (services/a.py)" in own
    assert summary(fold(""), "empty").endswith("no samples\n")


def test_the_command_line_summarises_a_file(tmp_path, capsys):
    raw = tmp_path / "w.raw"
    raw.write_text(RAW)
    assert main([str(raw), "--root", "setup ("]) == 0
    assert "2 samples" in capsys.readouterr().out
