// The playground: a streaming chat completion with tools, read as it arrives.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const DEFAULT_TOOLS = [
    {
      type: "function",
      function: {
        name: "get_weather",
        description: "Current weather for a city",
        parameters: {
          type: "object",
          properties: {
            city: { type: "string", minLength: 1, maxLength: 24 },
            unit: { enum: ["celsius", "fahrenheit"] },
          },
          required: ["city"],
        },
      },
    },
  ];
  let controller = null;
  let model = null;

  function headers() {
    const h = { "Content-Type": "application/json" };
    const key = $("api-key").value.trim();
    if (key) h.Authorization = `Bearer ${key}`;
    return h;
  }

  function parseTools() {
    const box = $("tools-error");
    box.hidden = true;
    const text = $("tools").value.trim();
    if (!text) return [];
    try {
      const tools = JSON.parse(text);
      if (!Array.isArray(tools)) throw new Error("tools must be a JSON list");
      return tools;
    } catch (e) {
      box.textContent = `Tools: ${e.message}`;
      box.hidden = false;
      return null;
    }
  }

  function refreshChoices() {
    const select = $("tool-choice");
    const previous = select.value;
    const tools = parseTools() || [];
    const options = ["auto", "required", "none"].concat(
      tools.map((t) => t && t.function && t.function.name).filter(Boolean).map((n) => `function:${n}`),
    );
    select.replaceChildren(...options.map((value) => {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = value.startsWith("function:") ? `function ${value.slice(9)}` : value;
      return o;
    }));
    if (options.includes(previous)) select.value = previous;
  }

  async function loadModel() {
    try {
      const r = await fetch("/v1/models", { headers: headers() });
      const body = await r.json();
      model = body.data[0].id;
      $("model").textContent = `model: ${model}`;
    } catch (e) {
      $("model").textContent = "model: unknown (set the API key?)";
    }
  }

  function requestBody(tools) {
    const choice = $("tool-choice").value;
    const body = {
      model,
      messages: [{ role: "user", content: $("message").value }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: Number($("max-tokens").value) || 200,
      temperature: Number($("temperature").value),
    };
    if (tools.length) {
      body.tools = tools;
      body.tool_choice = choice.startsWith("function:")
        ? { type: "function", function: { name: choice.slice(9) } }
        : choice;
      body.parallel_tool_calls = $("parallel").checked;
    }
    return body;
  }

  function callCard(index) {
    let card = document.querySelector(`.call[data-index="${index}"]`);
    if (!card) {
      card = document.createElement("div");
      card.className = "call";
      card.dataset.index = index;
      card.dataset.check = "streaming";
      card.innerHTML = '<span class="check">streaming…</span><span class="name"></span>' +
        '<pre class="pane arguments"></pre><ul class="problems"></ul><div class="unchecked"></div>';
      $("calls").appendChild(card);
    }
    return card;
  }

  function checkCall(card, tools) {
    const name = card.querySelector(".name").textContent;
    const text = card.querySelector(".arguments").textContent;
    const tool = tools.find((t) => t.function && t.function.name === name);
    const problems = [];
    let unchecked = [];
    if (!tool) problems.push(`no tool is named ${name}`);
    let args;
    try { args = JSON.parse(text || "{}"); } catch (e) { problems.push(`arguments are not JSON: ${e.message}`); }
    if (tool && args !== undefined) {
      const schema = tool.function.parameters || { type: "object" };
      const result = window.strictcallSchema.validate(schema, args);
      problems.push(...result.errors);
      unchecked = result.unchecked;
    }
    card.dataset.check = problems.length ? "invalid" : "valid";
    card.querySelector(".check").textContent = problems.length
      ? "✗ invalid against its schema" : "✓ valid against its schema";
    card.querySelector(".problems").replaceChildren(...problems.map((p) => {
      const li = document.createElement("li");
      li.textContent = p;
      return li;
    }));
    card.querySelector(".unchecked").textContent = unchecked.length
      ? `not checked here: ${unchecked.join(", ")}` : "";
  }

  function apply(chunk, tools, state) {
    if (chunk.error) throw new Error(chunk.error.message);
    if (chunk.usage) state.usage = chunk.usage;
    const choice = chunk.choices && chunk.choices[0];
    if (!choice) return;
    const d = choice.delta || {};
    if (d.reasoning_content) $("reasoning").textContent += d.reasoning_content;
    if (d.content) $("content").textContent += d.content;
    for (const tc of d.tool_calls || []) {
      const card = callCard(tc.index);
      if (tc.function && tc.function.name) card.querySelector(".name").textContent = tc.function.name;
      if (tc.function && tc.function.arguments) card.querySelector(".arguments").textContent += tc.function.arguments;
    }
    if (choice.finish_reason) state.finish = choice.finish_reason;
  }

  async function send() {
    const tools = parseTools();
    if (tools === null) return;
    if (!model) {
      $("status").textContent = "No model yet: the server did not list one (an API key needed?).";
      $("status").className = "error";
      return;
    }
    for (const id of ["reasoning", "content", "calls"]) $(id).replaceChildren();
    $("send").disabled = true;
    $("stop").disabled = false;
    $("status").textContent = "Streaming…";
    $("status").className = "";
    controller = new AbortController();
    const state = { finish: null, usage: null };
    const started = performance.now();
    try {
      const r = await fetch("/v1/chat/completions", {
        method: "POST", headers: headers(), body: JSON.stringify(requestBody(tools)),
        signal: controller.signal,
      });
      if (!r.ok) {
        const body = await r.json().catch(() => ({}));
        throw new Error((body.error && body.error.message) || `HTTP ${r.status}`);
      }
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const line = buffer.slice(0, cut).trim();
          buffer = buffer.slice(cut + 2);
          if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
          apply(JSON.parse(line.slice(6)), tools, state);
        }
      }
      document.querySelectorAll(".call").forEach((card) => checkCall(card, tools));
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const tokens = state.usage ? `, ${state.usage.completion_tokens} tokens` : "";
      $("status").textContent = `Done: finish_reason ${state.finish}${tokens}, ${seconds} s.`;
      $("status").dataset.finish = state.finish || "";
    } catch (e) {
      $("status").textContent = e.name === "AbortError" ? "Stopped." : `Error: ${e.message}`;
      $("status").className = "error";
    } finally {
      $("send").disabled = false;
      $("stop").disabled = true;
      controller = null;
    }
  }

  $("tools").value = JSON.stringify(DEFAULT_TOOLS, null, 2);
  $("tools").addEventListener("input", refreshChoices);
  $("api-key").addEventListener("change", loadModel);
  $("send").addEventListener("click", send);
  $("stop").addEventListener("click", () => controller && controller.abort());
  refreshChoices();
  loadModel();
})();
