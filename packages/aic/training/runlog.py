"""What the training scripts share about a run folder's log.jsonl."""
import json
import sys


def last_summary(log_path, prog):
    """The last summary line of a run's log; exits naming the log when the run never finished."""
    summary = None
    with open(log_path) as f:
        for line in f:
            entry = json.loads(line)
            if "summary" in entry:
                summary = entry["summary"]
    if summary is None:
        sys.exit(f"{prog}: {log_path} has no summary line: the run did not finish")
    return summary
