"""Emergency playbooks: typed parameters, the playbook model and its lint, and the planner that
turns a run into one state change. Pure: no file I/O, no git, no prompts; `state.emergency`
writes what the planner makes and `cli/emergency.py` asks for confirmation.
"""
