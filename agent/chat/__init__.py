"""Chat understanding without an LLM: intents from labelled examples (MiniLM nearest neighbours),
slots from the synced workspace, a plan of tool calls, and readable answers.

The seam with the LLM mode is ``agent.chat.routing.route_question`` (``Routed``).
"""
