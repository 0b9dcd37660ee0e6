"""The post-call survey on the line (docs/surveys.md, "Voice").

When the agent hangs up a connected inbound call whose queue a voice survey covers, the caller
stays on: the agent's leg, the recording and routing's contact end as they would (the agent
goes to wrap-up), and the call goes to the state `survey`, in which the runner hands the
caller's keys, prompt ends and timers to this module. It speaks the intro, then each question
the phone can ask (text questions are skipped) with how to answer it, in the call's language
(espeak-ng, as the IVR), and hangs up after the thanks:

- csat 1-5 and ces 1-7: one key; resolved: 1 = yes (stored 1), 2 = no (stored 0);
- nps 0-10: one key 0-9, and ten as 1 then 0 — after a 1 the next key is waited for
  `TEN_WINDOW_S`: a 0 makes it ten, `#` or the wait makes it one;
- a key may cut a prompt short; no key within `ANSWER_TIMEOUT_S` of the question's end, or an
  invalid one, repeats the question once; then the question stays unanswered — and when it
  is required, the survey ends there (it cannot be stored without it).

The answers are stored (surveys.voice.finish, the token the survey domain gave out) before the
thanks, and when the caller hangs up midway the answers given so far are stored the same way:
they count, unless a required question is left unanswered, which stores nothing (the send
stays `sent`, not answered). A caller who hangs up while still talking to the agent gets no
survey: its row says `caller_hung_up`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from omnidesk.channels.voice.calls import VoiceCall, drop_leg, utcnow
from omnidesk.channels.voice.context import VoiceContext
from omnidesk.channels.voice.ivr import actions as ivr
from omnidesk.channels.voice.playback import play, stop_playing
from omnidesk.channels.voice.recording import finish_recording
from omnidesk.channels.voice.records import note
from omnidesk.channels.voice.sip.dialog import CallFailed
from omnidesk.platform.logging import get_logger
from omnidesk.routing.api import EndContact, RoutingError
from omnidesk.surveys import texts
from omnidesk.surveys import voice as surveys

log = get_logger(__name__)
STATE = "survey"
TIMER = "survey"
ANSWER_TIMEOUT_S = 6.0  # for a key after a question has been read out
TEN_WINDOW_S = 2.0  # after a 1 on an NPS question: for the 0 that makes it ten
SINGLE_KEY = {"csat": (1, 5), "ces": (1, 7)}


@dataclass
class PhoneSurvey:
    plan: surveys.VoiceSurvey
    end_reason: str  # the call's end reason once the survey is over (the agent's hang-up)
    index: int = -1  # the question being asked (-1: the intro is playing)
    repeated: bool = False  # the question has been asked again once
    one: bool = False  # an NPS 1 waits for a possible 0
    listening: bool = False  # the question has been read out: its time-out runs
    answers: dict[str, int] = field(default_factory=dict)
    stored: bool = False
    closing: bool = False  # the thanks are playing

    @property
    def question(self) -> surveys.VoiceQuestion | None:
        questions = self.plan.questions
        return questions[self.index] if 0 <= self.index < len(questions) else None


def contact_end(call: VoiceCall) -> surveys.VoiceEnd | None:
    """The contact to survey: an inbound call connected to an agent in a queue."""
    if (
        call.direction != "inbound"
        or call.state not in ("connected", "held")
        or call.contact_id is None
        or call.agent_id is None
        or call.consult is not None
    ):
        return None
    return surveys.VoiceEnd(
        tenant_id=call.tenant_id,
        contact_id=call.contact_id,
        queue_id=call.queue_id,
        agent_id=call.agent_id,
        caller=call.caller,
        language=call.language,
        ended_at=utcnow(),
    )


async def agent_left(ctx: VoiceContext, call: VoiceCall, reason: str) -> bool:
    """The agent hung up (`reason`: the call's end reason once the survey is over). True: the
    caller stays on for the survey (this module runs it from now on); False: no survey to
    ask — end the call as usual."""
    end = contact_end(call)
    if end is None:
        return False
    plan = await surveys.begin(ctx.db, ctx.bus, end)
    if plan is None or call.ended:
        return False
    await _release_agent(ctx, call)
    call.survey = PhoneSurvey(plan, end_reason=reason)
    await note(ctx, call, STATE, detail={"survey": "started"})
    intro = ivr.Say(plan.intro, call.language) if plan.intro else _words(call, "voice_intro")
    await _say(ctx, call, [intro])
    return True


async def caller_hung_up(ctx: VoiceContext, end: surveys.VoiceEnd) -> None:
    """The caller hung up while talking to the agent (`end`: contact_end before the call
    ended): nobody is left to ask."""
    await surveys.not_sent(ctx.db, ctx.bus, end, "caller_hung_up")


async def call_ended(ctx: VoiceContext, call: VoiceCall) -> None:
    """The call ended during the survey (the caller hung up, mostly): what was answered so
    far is stored (unless it was already)."""
    survey: PhoneSurvey | None = call.survey
    if survey is not None:
        await _store(ctx, call, survey)


async def _release_agent(ctx: VoiceContext, call: VoiceCall) -> None:
    """Everything of the agent's side ends as if the call had: the leg, supervisors listening,
    the recording (the survey is not recorded) and routing's contact."""
    if call.held is not None:
        ctx.media.resume(call.leg, [])  # takes the hold music off the caller
        call.held = None
    for sip, leg, _mode in list(call.monitors.values()):
        await drop_leg(ctx.media, sip, leg)
    call.monitors.clear()
    with contextlib.suppress(Exception):
        await finish_recording(ctx, call)
    agent_sip = call.agent_sip
    if agent_sip is not None and agent_sip.state != "ended":  # hung up from the desktop
        agent_sip.on_ended = None
        with contextlib.suppress(CallFailed, OSError):
            await agent_sip.bye()
    if call.agent_leg is not None:
        await ctx.media.close_leg(call.agent_leg)
    call.agent_sip, call.agent_leg = None, None
    call.state = STATE
    if call.contact_id is not None:
        with contextlib.suppress(RoutingError):
            await ctx.routing.execute(call.tenant_id, EndContact(call.contact_id))
        ctx.by_contact.pop(call.contact_id, None)


async def on_input(ctx: VoiceContext, call: VoiceCall, kind: str, value: object) -> None:
    """A key, a prompt's end or a timer of a call in its survey."""
    survey: PhoneSurvey | None = call.survey
    if survey is None:
        return
    if kind == "prompt_done":
        if value != call.play_token:
            return  # a prompt cut short
        call.playing = None
        if survey.closing:
            await ctx.hang_up(call, survey.end_reason)
        elif survey.question is None:
            await _next(ctx, call, survey)  # the intro has been heard
        else:
            survey.listening = True
            _start_timer(call, ANSWER_TIMEOUT_S)
    elif kind == "timer" and value == TIMER:
        call.timers.pop(TIMER, None)
        if survey.one:
            await _answered(ctx, call, survey, 1)
        elif survey.listening:
            await _invalid(ctx, call, survey, timed_out=True)
    elif kind == "digit" and isinstance(value, str):
        await _key(ctx, call, survey, value)


async def _key(ctx: VoiceContext, call: VoiceCall, survey: PhoneSurvey, key: str) -> None:
    question = survey.question
    if question is None or survey.closing:
        return  # keys during the intro or the thanks mean nothing
    _cancel_timer(call)
    stop_playing(ctx, call)
    value = _value(question.kind, key, survey)
    if isinstance(value, str):  # "wait"
        _start_timer(call, TEN_WINDOW_S)
        return
    if value is None:
        await _invalid(ctx, call, survey, timed_out=False)
    else:
        await _answered(ctx, call, survey, value)


def _value(kind: str, key: str, survey: PhoneSurvey) -> int | str | None:
    """The score a key gives; None: not an answer; "wait": an NPS 1 that may become ten."""
    if kind == "nps":
        if survey.one:
            survey.one = False
            return 10 if key == "0" else 1 if key == "#" else None
        if key == "1":
            survey.one = True
            return "wait"
        return int(key) if key.isdigit() else None
    if not key.isdigit():
        return None
    if kind == "resolved":
        return {"1": 1, "2": 0}.get(key)
    low, high = SINGLE_KEY[kind]
    return int(key) if low <= int(key) <= high else None


async def _answered(ctx: VoiceContext, call: VoiceCall, survey: PhoneSurvey, score: int) -> None:
    question = survey.question
    assert question is not None
    survey.one = False
    survey.answers[question.id] = score
    await _next(ctx, call, survey)


async def _invalid(
    ctx: VoiceContext, call: VoiceCall, survey: PhoneSurvey, *, timed_out: bool
) -> None:
    question = survey.question
    assert question is not None
    if not survey.repeated:
        survey.repeated = True
        lead = [] if timed_out else [_words(call, "voice_invalid")]
        await _ask(ctx, call, survey, question, lead)
    elif question.required:
        await _close(ctx, call, survey)  # it cannot be stored without this answer
    else:
        await _next(ctx, call, survey)


async def _next(ctx: VoiceContext, call: VoiceCall, survey: PhoneSurvey) -> None:
    survey.index += 1
    survey.repeated = False
    question = survey.question
    if question is None:
        await _close(ctx, call, survey)
    else:
        await _ask(ctx, call, survey, question, [])


async def _ask(
    ctx: VoiceContext,
    call: VoiceCall,
    survey: PhoneSurvey,
    question: surveys.VoiceQuestion,
    lead: list[ivr.Say],
) -> None:
    survey.listening = False
    survey.one = False
    # The question in the words the admin wrote, spoken with the call's language's voice;
    # how to answer it in the built-in words.
    text = ivr.Say(question.text, call.language)
    await _say(ctx, call, [*lead, text, _words(call, f"voice_{question.kind}")])


async def _close(ctx: VoiceContext, call: VoiceCall, survey: PhoneSurvey) -> None:
    _cancel_timer(call)
    survey.closing = True
    await _store(ctx, call, survey)
    await _say(ctx, call, [_words(call, "voice_thanks")])


async def _store(ctx: VoiceContext, call: VoiceCall, survey: PhoneSurvey) -> None:
    if survey.stored:
        return
    survey.stored = True
    stored = await surveys.finish(ctx.db, ctx.bus, survey.plan.token, survey.answers)
    await note(ctx, call, STATE, detail={"survey": "answered" if stored else "not_answered"})


def _words(call: VoiceCall, key: str) -> ivr.Say:
    """Built-in words in the call's language (English when there are none in it)."""
    language = texts.language_of(call.language)
    return ivr.Say(texts.text(language, key), language)


async def _say(ctx: VoiceContext, call: VoiceCall, prompts: list[ivr.Say]) -> None:
    play(ctx, call, await ctx.render_prompts(call, prompts))


def _start_timer(call: VoiceCall, seconds: float) -> None:
    _cancel_timer(call)
    loop = asyncio.get_running_loop()
    call.timers[TIMER] = loop.call_later(seconds, call.put, "timer", TIMER)


def _cancel_timer(call: VoiceCall) -> None:
    handle = call.timers.pop(TIMER, None)
    if handle is not None:
        handle.cancel()
