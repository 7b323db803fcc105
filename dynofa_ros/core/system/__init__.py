"""The system as a whole: its nodes and launch arguments, DDS transport, board, processes."""
