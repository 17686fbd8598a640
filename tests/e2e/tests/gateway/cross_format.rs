//! Each wire format against the other provider: `/v1/messages` on an OpenAI model and
//! `/v1/chat/completions` on an Anthropic model, streamed and not, with the usage the upstream counted.

use e2e::{case, Case, Ctx};
use serde_json::json;

use crate::streams::{
    expect_anthropic_complete, expect_openai_complete, read_anthropic, read_openai,
};
use crate::tenant::{tenant, CLAUDE, GPT};
use crate::wire::{
    chat_body, expect_anthropic_identity, expect_completion, expect_message,
    expect_openai_identity, messages_body, post, prompt_tokens, reply_text, streamed, user, Tokens,
    CHAT, DEFAULT_REPLY, MESSAGES,
};

pub fn cases() -> Vec<Case> {
    vec![
        case!(messages_on_an_openai_model),
        case!(messages_stream_on_an_openai_model),
        case!(chat_on_an_anthropic_model),
        case!(chat_stream_on_an_anthropic_model),
    ]
}

async fn messages_on_an_openai_model(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "x-msg-oai").await?;
    let (system, prompt) = ("System words here.", "Anthropic client, OpenAI model");
    let body = json!({"model": GPT, "max_tokens": 7, "system": system, "messages": [user(prompt)]});
    let resp = post(&t.x_api(ctx), MESSAGES, &body, &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[system, prompt]),
        completion: 7,
    };
    expect_message(&resp, GPT, &reply_text(7), "max_tokens", want)?;
    let first = resp;
    let resp = post(
        &t.x_api(ctx),
        MESSAGES,
        &messages_body(GPT, prompt, 100),
        &[],
    )
    .await?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_message(&resp, GPT, &reply_text(DEFAULT_REPLY), "end_turn", want)?;
    // The format's own id, whichever provider answered.
    expect_anthropic_identity(&first)
}

async fn messages_stream_on_an_openai_model(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "x-msg-oai-s").await?;
    let prompt = "Stream across formats [[sim: tokens=5]]";
    let body = streamed(messages_body(GPT, prompt, 100), false);
    let resp = post(&t.x_api(ctx), MESSAGES, &body, &[]).await?;
    let stream = read_anthropic(&resp)?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: 5,
    };
    expect_anthropic_complete(&stream, GPT, &reply_text(5), "end_turn", want)
}

async fn chat_on_an_anthropic_model(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "x-chat-ant").await?;
    let (system, prompt) = ("Be an assistant.", "OpenAI client, Anthropic model");
    let body = json!({"model": CLAUDE, "max_tokens": 6,
        "messages": [{"role": "system", "content": system}, user(prompt)]});
    let resp = post(&t.api(ctx), CHAT, &body, &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[system, prompt]),
        completion: 6,
    };
    expect_completion(&resp, CLAUDE, &reply_text(6), "length", want)?;
    let first = resp;
    // Anthropic requires max_tokens; an OpenAI caller need not send it.
    let resp = post(&t.api(ctx), CHAT, &chat_body(CLAUDE, prompt), &[]).await?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: DEFAULT_REPLY,
    };
    expect_completion(&resp, CLAUDE, &reply_text(DEFAULT_REPLY), "stop", want)?;
    // The format's own id and a real `created`, whichever provider answered.
    expect_openai_identity(&first)
}

async fn chat_stream_on_an_anthropic_model(ctx: &Ctx) -> Result<(), String> {
    let t = tenant(ctx, "x-chat-ant-s").await?;
    let prompt = "Stream the other way [[sim: tokens=8]]";
    let resp = post(
        &t.api(ctx),
        CHAT,
        &streamed(chat_body(CLAUDE, prompt), true),
        &[],
    )
    .await?;
    let stream = read_openai(&resp)?;
    let want = Tokens {
        prompt: prompt_tokens(&[prompt]),
        completion: 8,
    };
    expect_openai_complete(&stream, CLAUDE, &reply_text(8), "stop", Some(want))
}
