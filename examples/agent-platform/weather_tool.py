import hashlib

CONDITIONS = ["sunny", "partly cloudy", "cloudy", "light rain", "windy", "foggy"]


def handler(event, context):
    """A tool: gets (tool_id, operation, parameters, session_id); its result goes back as JSON."""
    operation = event.get("operation")
    if operation != "get_weather":
        raise ValueError(f"unknown operation {operation!r}; this tool has get_weather")
    parameters = event.get("parameters") or {}
    location = parameters.get("location") or parameters.get("city")
    if not location:
        raise ValueError("parameters.location is required")
    # The same made-up weather for the same place every time: no network, no randomness.
    seed = int(hashlib.sha256(location.strip().lower().encode()).hexdigest(), 16)
    return {
        "location": location,
        "temperature_c": 5 + seed % 26,
        "condition": CONDITIONS[seed % len(CONDITIONS)],
        "humidity_percent": 30 + seed % 61,
        "wind_kmh": seed % 40,
    }
