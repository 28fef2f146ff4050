import re

ACTIVITIES = {
    "food": ("a market tour", "a cooking class", "dinner at a neighbourhood bistro"),
    "art": ("the main museum", "a gallery walk", "an evening at a small theatre"),
    "history": ("the old town", "a guided tour of a landmark", "a walk along the old walls"),
    "nature": ("a park at sunrise", "a hike just outside town", "a sunset viewpoint"),
    "sightseeing": ("the best-known sights", "a river or harbour cruise", "a view from up high"),
}


def handler(event, context):
    """A worker: plans destination/days/interests into a day-by-day itinerary."""
    parameters = event.get("parameters") or {}
    text = event.get("input", "")
    destination = parameters.get("destination") or _destination_in(text) or "your destination"
    days = int(parameters.get("days") or _days_in(text) or 3)
    if not 1 <= days <= 30:
        raise ValueError(f"days must be 1 to 30 (got {days})")
    interests = [i.strip().lower() for i in (parameters.get("interests") or "sightseeing,food").split(",") if i.strip()]
    plan = []
    for day in range(1, days + 1):
        # TaskWorker.GetTaskStatus shows the last of these while the task runs.
        context.progress(f"planning day {day} of {days}")
        interest = interests[(day - 1) % len(interests)]
        morning, afternoon, evening = ACTIVITIES.get(interest, ACTIVITIES["sightseeing"])
        plan.append(f"Day {day} in {destination} ({interest}): morning {morning}, afternoon {afternoon}, evening {evening}.")
    return {
        "output": "\n".join(plan),
        "success": True,
        "metadata": {"destination": destination, "days": str(days), "interests": ",".join(interests)},
    }


def _destination_in(text):
    match = re.search(r"\b(?:to|in|for)\s+([A-Z][\w' -]+?)(?:\s+for\b|\s+\d|[.,!?]|$)", text)
    return match.group(1).strip() if match else None


def _days_in(text):
    match = re.search(r"(\d+)\s*-?\s*days?", text)
    return match.group(1) if match else None
