"""The official Python SDKs against the platform. Run by tests/e2e/tests/gateway/python.rs:

    target/py/bin/python sdk.py <scenario> <base-url> <api-key> <model> <prompt>

prints {"ok": true, ...facts} or {"ok": false, "error": "..."}. Scenarios: openai-tools (chat completions,
whole and with the SDK's stream helper), openai-responses (create and stream), openai-embeddings,
anthropic-tools (messages, whole and streamed), openai-budget and anthropic-budget (a request over budget
raises the SDK's RateLimitError, with its default retries).
"""
import json
import sys
import traceback

import anthropic
import openai

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def openai_tools(client, model, prompt):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
                                               "parameters": SCHEMA}}]
    messages = [{"role": "user", "content": prompt}]
    first = client.chat.completions.create(model=model, messages=messages, tools=tools)
    with client.chat.completions.stream(model=model, messages=messages, tools=tools) as stream:
        streamed = stream.get_final_completion()
    call = first.choices[0].message.tool_calls[0]
    streamed_call = streamed.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 degrees"})
    second = client.chat.completions.create(model=model, messages=messages, tools=tools)
    return {
        "tool": call.function.name,
        "args": json.loads(call.function.arguments),
        "streamed_tool": streamed_call.function.name,
        "streamed_args": json.loads(streamed_call.function.arguments),
        "finish_reason": first.choices[0].finish_reason,
        "answer": second.choices[0].message.content,
        "answer_finish": second.choices[0].finish_reason,
    }


def openai_responses(client, model, prompt):
    whole = client.responses.create(model=model, input=prompt, instructions="Answer briefly.")
    with client.responses.stream(model=model, input=prompt) as stream:
        kinds = [event.type for event in stream]
        streamed = stream.get_final_response()
    return {"id": whole.id, "status": whole.status, "text": whole.output_text,
            "streamed_text": streamed.output_text, "events": kinds,
            "output_tokens": whole.usage.output_tokens}


def openai_embeddings(client, model, prompt):
    result = client.embeddings.create(model=model, input=[prompt, prompt + " again"])
    return {"lengths": [len(d.embedding) for d in result.data], "model": result.model,
            "prompt_tokens": result.usage.prompt_tokens}


def openai_images(client, model, prompt):
    by_url = client.images.generate(model=model, prompt=prompt, n=2, size="1024x1024")
    inline = client.images.generate(model=model, prompt=prompt, response_format="b64_json")
    return {"urls": [d.url for d in by_url.data], "b64": [d.b64_json for d in inline.data],
            "created": by_url.created}


def openai_budget(base, key, model, prompt):
    """A request over budget, with the SDK's default retries: it raises RateLimitError at once (the
    platform's x-should-retry: false tells it not to retry)."""
    client = openai.OpenAI(base_url=base + "/v1", api_key=key)
    try:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}], max_tokens=10)
    except openai.RateLimitError as e:
        return {"error_class": type(e).__name__, "status": e.status_code, "code": e.code, "type": e.type,
                "message": e.message}
    return {"error_class": None}


def anthropic_budget(base, key, model, prompt):
    client = anthropic.Anthropic(base_url=base, api_key=key)
    try:
        client.messages.create(model=model, max_tokens=10, messages=[{"role": "user", "content": prompt}])
    except anthropic.RateLimitError as e:
        return {"error_class": type(e).__name__, "status": e.status_code,
                "type": e.body.get("error", {}).get("type") if isinstance(e.body, dict) else None}
    return {"error_class": None}


def anthropic_tools(base, key, model, prompt):
    client = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)
    tools = [{"name": "get_weather", "description": "Current weather", "input_schema": SCHEMA}]
    messages = [{"role": "user", "content": prompt}]
    first = client.messages.create(model=model, max_tokens=256, messages=messages, tools=tools)
    with client.messages.stream(model=model, max_tokens=256, messages=messages, tools=tools) as stream:
        streamed = stream.get_final_message()
    use = next(b for b in first.content if b.type == "tool_use")
    streamed_use = next(b for b in streamed.content if b.type == "tool_use")
    messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]})
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                  "content": "18 degrees"}]})
    second = client.messages.create(model=model, max_tokens=256, messages=messages, tools=tools)
    return {
        "tool": use.name,
        "args": use.input,
        "streamed_tool": streamed_use.name,
        "streamed_args": streamed_use.input,
        "stop_reason": first.stop_reason,
        "answer": "".join(b.text for b in second.content if b.type == "text"),
        "answer_stop": second.stop_reason,
    }


def main():
    scenario, base, key, model, prompt = sys.argv[1:6]
    client = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
    runs = {
        "openai-tools": lambda: openai_tools(client, model, prompt),
        "openai-responses": lambda: openai_responses(client, model, prompt),
        "openai-embeddings": lambda: openai_embeddings(client, model, prompt),
        "openai-images": lambda: openai_images(client, model, prompt),
        "anthropic-tools": lambda: anthropic_tools(base, key, model, prompt),
        "openai-budget": lambda: openai_budget(base, key, model, prompt),
        "anthropic-budget": lambda: anthropic_budget(base, key, model, prompt),
    }
    try:
        print(json.dumps({"ok": True, **runs[scenario]()}))
    except Exception:  # the test prints the traceback as the failure
        print(json.dumps({"ok": False, "error": traceback.format_exc()}))


if __name__ == "__main__":
    main()
