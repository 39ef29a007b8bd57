"""Job orchestration: the synthesis run shared by the CLI and (later) the job workers."""
