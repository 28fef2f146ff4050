def handler(event, context):
    """An agent: gets the task (task_id, agent_id, input, parameters, tool_ids, session_id)."""
    text = event.get("input", "")
    return {
        "output": f"Echo: {text}",
        "success": True,
        "metadata": {"agent": "echo-agent", "characters": str(len(text))},
    }
