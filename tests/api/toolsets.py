"""Tool sets the end-to-end tests send (schemas with the keywords real tool sets use)."""

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 1, "maxLength": 24},
                "unit": {"enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 14},
            },
            "required": ["city"],
        },
    },
}

FLIGHT = {
    "type": "function",
    "function": {
        "name": "book.flight",
        "description": "Book a flight (a dotted name, as real tool sets use)",
        "parameters": {
            "type": "object",
            "$defs": {"airport": {"type": "string", "pattern": "^[A-Z]{3}$"}},
            "properties": {
                "from": {"$ref": "#/$defs/airport"},
                "to": {"$ref": "#/$defs/airport"},
                "passengers": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "maxLength": 16},
                            "age": {"type": "integer", "minimum": 0, "maximum": 120},
                        },
                        "required": ["name"],
                    },
                },
                "class": {"anyOf": [{"const": "economy"}, {"const": "business"}, {"type": "null"}]},
                "price": {"type": "number", "exclusiveMinimum": 0, "maximum": 10000},
                "flexible": {"type": "boolean"},
            },
            "required": ["from", "to", "passengers"],
        },
    },
}

NO_ARGS = {"type": "function", "function": {"name": "get-time", "description": "No arguments"}}

TOOLS = [WEATHER, FLIGHT, NO_ARGS]
SCHEMAS = {
    t["function"]["name"]: t["function"].get("parameters") or {"type": "object"} for t in TOOLS
}
