// The browser side of tests/e2e/test_pages.py: Debian's /usr/bin/chromium, headless, through
// playwright-core (no browser download), over the real pages of `ssprd serve`. Reads the plan
// (one JSON line) on stdin; asks test_pages.py for mailed and texted codes, authenticator codes
// and directory checks with one JSON line on stdout each and reads the answer on stdin. Every page
// is checked by axe-core (no serious or critical violation) and saved as a screenshot.
// Logs go to stderr; no password, code or token is ever printed.
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const STEP_TIMEOUT = 15000;

const lines = createInterface({ input: process.stdin });
const waiting = [];
const queued = [];
lines.on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queued.push(line);
});
function nextLine() {
    if (queued.length) return Promise.resolve(queued.shift());
    return new Promise((resolve) => waiting.push(resolve));
}
async function ask(request) {
    process.stdout.write(JSON.stringify(request) + '\n');
    return JSON.parse(await nextLine());
}

const plan = JSON.parse(await nextLine());
mkdirSync(plan.shots, { recursive: true });
const catalogue = {
    en: JSON.parse(readFileSync(join(plan.messages, 'en.json'), 'utf8')),
    ko: JSON.parse(readFileSync(join(plan.messages, 'ko.json'), 'utf8')),
};
const msg = (lang, key, params = {}) => {
    let t = catalogue[lang][key];
    if (t === undefined) throw new Error(`no message ${key} in ${lang}`);
    for (const [k, v] of Object.entries(params)) t = t.replaceAll(`{${k}}`, v);
    return t;
};

const failures = [];
const passed = [];
let pagesChecked = 0;
let shot = 0;

function check(cond, what) {
    if (!cond) throw new Error(what);
}

/** axe-core on the page as it is now, and a screenshot named after the step. */
async function inspect(page, name) {
    shot += 1;
    const file = join(plan.shots, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    const results = await new AxeBuilder({ page }).analyze();
    pagesChecked += 1;
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of bad) {
        failures.push(`axe ${name} (${page.url()}): ${v.impact} ${v.id}: ${v.help} ` +
            `[${v.nodes.map((n) => n.target.join(' ')).join(', ')}]`);
    }
    // Every page: the language it claims, the stylesheet, the organisation, no script.
    check((await page.locator('script').count()) === 0, `${name}: a <script> on the page`);
    check((await page.locator('link[rel=stylesheet][href="/static/ssprd.css"]').count()) === 1,
        `${name}: no stylesheet link`);
    check((await page.locator('header .org').innerText()).includes(plan.organisation),
        `${name}: no organisation name`);
    const logo = page.locator('header .org img.logo[src="/static/logo"]');
    check((await logo.count()) === 1, `${name}: no logo (ui.logo)`);
    if ((await logo.count()) === 1) {
        check(await logo.evaluate((img) => img.complete && img.naturalWidth > 0),
            `${name}: the logo did not load`);
    }
    console.error(`  page ${name}: ${page.url()} (${bad.length} serious/critical)`);
}

async function submit(page, selector = 'main form button[type=submit]') {
    await Promise.all([page.waitForNavigation({ timeout: STEP_TIMEOUT }),
        page.locator(selector).first().click()]);
}

async function expectText(page, text, what) {
    const body = await page.locator('main').innerText();
    check(body.includes(text), `${what}: expected "${text}" on ${page.url()}, got:\n${body}`);
}

async function lang(page) {
    return page.locator('html').getAttribute('lang');
}

/** Registers e-mail and an authenticator app through the forms; returns the TOTP secret. */
async function enroll(page, l, user, name) {
    await page.locator(`a[href="/enroll"]`).first().click();
    await page.waitForURL('**/enroll');
    check(await page.locator('#username').getAttribute('autocomplete') === 'username',
        'sign-in: autocomplete=username');
    await inspect(page, `${name}-enroll-signin`);
    await page.fill('#username', user.login);
    await page.fill('#password', plan.password);
    await submit(page);
    await expectText(page, msg(l, 'ui.enroll.none'), 'methods page before registering');
    await inspect(page, `${name}-enroll-methods`);

    await ask({ op: 'mark' });
    await page.fill('#address', user.email);
    await submit(page, 'form[action="/enroll/email"] button[type=submit]');
    check(await page.locator('#code').getAttribute('autocomplete') === 'one-time-code',
        'email code: autocomplete=one-time-code');
    await inspect(page, `${name}-enroll-email-code`);
    const { code } = await ask({ op: 'mail_code', address: user.email });
    await page.fill('#code', code);
    await submit(page);
    await expectText(page, msg(l, 'ui.enroll.done_email'), 'e-mail registered');

    await submit(page, 'form[action="/enroll/totp"] button[type=submit]');
    const img = page.locator('.qr img');
    // The QR code is a data: image; the strict CSP allows it (it rendered when it has a size).
    check(await img.evaluate((i) => i.complete && i.naturalWidth > 0), 'the QR code did not load');
    const secret = (await page.locator('#totp-secret').innerText()).trim();
    check(/^[A-Z2-7]{16,}$/.test(secret), 'no TOTP secret to type in');
    await inspect(page, `${name}-enroll-totp`);
    const totp = await ask({ op: 'totp', secret });
    await page.fill('#code', totp.code);
    await submit(page, 'form[action="/enroll/totp/verify"] button[type=submit]');
    await expectText(page, msg(l, 'ui.enroll.done_totp'), 'authenticator registered');
    await expectText(page, msg(l, 'ui.enroll.method_totp'), 'authenticator listed');
    await expectText(page, msg(l, 'ui.enroll.complete'), 'registration complete');
    await inspect(page, `${name}-enroll-done`);
    await submit(page, 'form[action="/enroll/signout"] button[type=submit]');
    return secret;
}

/** Forgot password with the authenticator app; a refused password first; then Back + resend. */
async function reset(page, l, user, name, secret) {
    await page.locator('a[href="/reset"]').first().click();
    await page.waitForURL('**/reset');
    await inspect(page, `${name}-reset-start`);
    await page.fill('#username', user.login);
    await submit(page);
    await inspect(page, `${name}-reset-choose`);
    await page.locator('label', { hasText: msg(l, 'ui.method.totp') }).click();
    await submit(page);
    await inspect(page, `${name}-reset-code`);
    await page.fill('#code', (await ask({ op: 'totp', secret })).code);
    await submit(page);

    // The rules up front.
    await expectText(page, msg(l, 'ui.password.rules_title'), 'rules title');
    check(await page.locator('#new_password').getAttribute('autocomplete') === 'new-password',
        'autocomplete=new-password');
    await inspect(page, `${name}-reset-new-password`);

    // A password the policy refuses: its own message, in the summary and at the field.
    const short = 'Zq7-x'.padEnd(plan.min_length - 1, 'k');
    await page.fill('#new_password', short);
    await page.fill('#confirm_password', short);
    await submit(page);
    const refusal = msg(l, 'problem.password_too_short', { min: String(plan.min_length) });
    await expectText(page, refusal, 'the refused password');
    check((await page.locator('.error-summary a[href="#new_password"]').innerText()) === refusal,
        'the error summary links to the field');
    check(await page.locator('#new_password').getAttribute('aria-invalid') === 'true',
        'the field is marked invalid');
    await inspect(page, `${name}-reset-refused`);
    check(!(await ask({ op: 'can_bind', login: user.login, password: short })).ok,
        'the refused password was set');

    // The good one; keep what the form holds to send it again afterwards.
    await page.fill('#new_password', user.new);
    await page.fill('#confirm_password', user.new);
    const fields = await page.locator('form[action="/reset/complete"]').evaluate((f) =>
        Object.fromEntries(new FormData(f).entries()));
    await ask({ op: 'mark' });
    await submit(page);
    await expectText(page, msg(l, 'ui.done.changed'), 'password changed');
    await inspect(page, `${name}-reset-done`);
    check((await ask({ op: 'can_bind', login: user.login, password: user.new })).ok,
        'the directory does not take the new password');

    // Back, and the completed form sent again: refused, nothing changes, no second notice.
    // Back: the answer was no-store, so Chromium shows its "confirm form resubmission" page
    // (ERR_CACHE_MISS) instead of the form; the test then sends the very same fields again from
    // a page of the gateway, as the resubmission would.
    await page.goBack({ timeout: STEP_TIMEOUT }).catch(() => null);
    await page.waitForLoadState('load').catch(() => null);
    await page.waitForTimeout(300);
    await page.goto(`${plan.base}/reset`);
    await page.evaluate((f) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.action = '/reset/complete';
        for (const [k, v] of Object.entries(f)) {
            const i = document.createElement('input');
            i.type = 'hidden';
            i.name = k;
            i.value = v;
            form.appendChild(i);
        }
        document.body.appendChild(form);
        form.submit();
    }, fields);
    await page.waitForURL('**/reset/complete', { timeout: STEP_TIMEOUT });
    await page.waitForLoadState();
    await expectText(page, msg(l, 'problem.flow_not_found'), 'the resubmitted form');
    await inspect(page, `${name}-reset-resubmitted`);
    const before = (await ask({ op: 'mails_to', address: user.email })).count;
    await new Promise((r) => setTimeout(r, 1500));
    const after = (await ask({ op: 'mails_to', address: user.email })).count;
    check(after === before, 'the resubmitted form sent another mail');
    check((await ask({ op: 'can_bind', login: user.login, password: user.new })).ok,
        'the resubmitted form changed the password');
}

/** Signs in, registers a mobile number and security questions through the forms, signs out. */
async function enrollSmsQuestions(page, user) {
    await page.locator('a[href="/enroll"]').first().click();
    await page.waitForURL('**/enroll');
    await page.fill('#username', user.login);
    await page.fill('#password', plan.password);
    await submit(page);
    await expectText(page, msg('en', 'ui.enroll.none'), 'methods page before registering');
    check(await page.locator('#number').getAttribute('autocomplete') === 'tel',
        'mobile number: autocomplete=tel');

    await ask({ op: 'mark' });
    await page.fill('#number', user.number);
    await submit(page, 'form[action="/enroll/sms"] button[type=submit]');
    await expectText(page, msg('en', 'ui.enroll.sms_sent', { address: user.number }),
        'the number the code went to');
    check(await page.locator('#code').getAttribute('autocomplete') === 'one-time-code',
        'text message code: autocomplete=one-time-code');
    await inspect(page, 'sms-enroll-sms-code');
    await page.fill('#code', (await ask({ op: 'sms_code', number: user.number })).code);
    await submit(page);
    await expectText(page, msg('en', 'ui.enroll.done_sms'), 'number registered');
    const listed = await page.locator('table.methods').innerText();
    check(listed.includes(msg('en', 'ui.enroll.method_sms', { hint: '' }).trim()),
        `the number is not listed: ${listed}`);
    check(listed.includes('0025') && !listed.includes('5555'),
        `the number is not listed masked: ${listed}`);
    // Two gates for this user: one method is not enough yet.
    await expectText(page, msg('en', 'ui.enroll.incomplete', { required: '2' }),
        'two methods needed');
    await inspect(page, 'sms-enroll-sms-done');

    await page.locator('a[href="/enroll/questions"]').first().click();
    await page.waitForURL('**/enroll/questions');
    await expectText(page, msg('en', 'ui.enroll.questions_intro',
        { count: String(plan.questions.register) }), 'the questions page');
    await inspect(page, 'sms-enroll-questions');
    const slots = await page.locator('main select').count();
    check(slots === plan.questions.register, `${slots} questions to choose`);
    const chosen = new Set();
    for (let i = 0; i < slots; i += 1) {
        // The preselected choices differ; answer each with the answer of its text.
        const text = (await page.locator(`#question-${i} option:checked`).innerText()).trim();
        check(user.answers[text] !== undefined, `an unknown question: ${text}`);
        chosen.add(text);
        await page.fill(`#answer-${i}`, user.answers[text]);
    }
    check(chosen.size === slots, 'the same question preselected twice');
    await submit(page);
    await expectText(page, msg('en', 'ui.enroll.done_questions'), 'questions registered');
    await expectText(page, msg('en', 'ui.enroll.method_questions'), 'questions listed');
    await expectText(page, msg('en', 'ui.enroll.method_sms', { hint: '' }).trim(),
        'number still listed');
    await expectText(page, msg('en', 'ui.enroll.complete'), 'registration complete');
    await inspect(page, 'sms-enroll-done');
    await submit(page, 'form[action="/enroll/signout"] button[type=submit]');
}

/** The answers of the questions the page asks now, by their labels; `wrong` replaces the first. */
async function answerQuestions(page, user, wrong) {
    const asked = await page.locator('main input[id^="answer-"]').count();
    check(asked === plan.questions.asked, `${asked} questions asked`);
    for (let i = 0; i < asked; i += 1) {
        const text = (await page.locator(`label[for="answer-${i}"]`).innerText()).trim();
        check(user.answers[text] !== undefined, `asked an unknown question: ${text}`);
        check(await page.locator(`#answer-${i}`).inputValue() === '', 'an answer was echoed');
        await page.fill(`#answer-${i}`, i === 0 && wrong ? wrong : user.answers[text]);
    }
    await submit(page);
}

/** Forgot password with two gates: a text message code, then the questions (one wrong first). */
async function resetSmsQuestions(page, user) {
    await page.locator('a[href="/reset"]').first().click();
    await page.waitForURL('**/reset');
    await page.fill('#username', user.login);
    await submit(page);
    const step = (n) => msg('en', 'ui.step.progress', { passed: String(n), required: '2' });
    await expectText(page, step(1), 'the first of two gates');
    const label = msg('en', 'ui.method.sms', { hint: '' }).trim();
    const sms = page.locator('label', { hasText: label });
    check(await sms.count() === 1, 'no text message to choose');
    const hint = (await sms.innerText()).replace(label, '').trim();
    check(hint.endsWith('0025') && !hint.includes('5555'), `the number is not masked: ${hint}`);
    await inspect(page, 'sms-reset-choose');
    await ask({ op: 'mark' });
    await sms.click();
    await submit(page);
    await expectText(page, msg('en', 'ui.step.code_sent', { hint }), 'the code was texted');
    await expectText(page, step(1), 'the first gate on the code page');
    await inspect(page, 'sms-reset-code');
    await page.fill('#code', (await ask({ op: 'sms_code', number: user.number })).code);
    await submit(page);

    // The second gate: the text message is used, the questions are left.
    await expectText(page, step(2), 'the second of two gates');
    check(await page.locator('main input[type=radio]').count() === 1, 'more than questions left');
    await expectText(page, msg('en', 'ui.method.questions'), 'questions offered');
    await inspect(page, 'sms-reset-choose-second');
    await submit(page);
    await expectText(page, msg('en', 'ui.step.answer_questions'), 'the questions asked');
    await expectText(page, step(2), 'the second gate on the questions page');
    await inspect(page, 'sms-reset-questions');

    // A wrong answer: the specific message, in the summary and at the field; nothing changes.
    await answerQuestions(page, user, user.wrong);
    const refusal = msg('en', 'problem.proof_invalid');
    await expectText(page, refusal, 'the wrong answer');
    check((await page.locator('.error-summary a[href="#answer-0"]').innerText()) === refusal,
        'the error summary links to the first answer');
    check((await page.locator('#answer-0-error').innerText()) === refusal,
        'the message at the field');
    check(await page.locator('#answer-0').getAttribute('aria-invalid') === 'true',
        'the field is marked invalid');
    await expectText(page, step(2), 'still the second gate');
    await inspect(page, 'sms-reset-wrong-answer');
    check((await ask({ op: 'can_bind', login: user.login, password: plan.password })).ok,
        'the wrong answer changed the password');

    // Asked again (maybe other questions): the right answers pass the second gate.
    await answerQuestions(page, user, null);
    await expectText(page, msg('en', 'ui.password.rules_title'), 'the new password page');
    await inspect(page, 'sms-reset-new-password');

    // Typed twice: differently first (refused), then the same.
    await page.fill('#new_password', user.new);
    await page.fill('#confirm_password', user.mismatch);
    await submit(page);
    await expectText(page, msg('en', 'problem.password_mismatch'), 'the two passwords differ');
    await inspect(page, 'sms-reset-mismatch');
    await page.fill('#new_password', user.new);
    await page.fill('#confirm_password', user.new);
    await submit(page);
    await expectText(page, msg('en', 'ui.done.changed'), 'password changed');
    await inspect(page, 'sms-reset-done');
}

async function unlock(page, user) {
    await page.goto(`${plan.base}/unlock`);
    await inspect(page, 'unlock-start');
    await page.fill('#username', user.login);
    await submit(page);
    await inspect(page, 'unlock-choose');
    await ask({ op: 'mark' });
    await page.locator('label', { hasText: msg('en', 'ui.method.email', { hint: '' }).trim() })
        .first().click();
    await submit(page);
    await inspect(page, 'unlock-code');
    await page.fill('#code', (await ask({ op: 'mail_code', address: user.email })).code);
    await submit(page);
    await expectText(page, msg('en', 'ui.step.unlock'), 'unlock confirmation');
    await inspect(page, 'unlock-confirm');
    await submit(page);
    await expectText(page, msg('en', 'ui.done.unlocked'), 'unlocked');
    await inspect(page, 'unlock-done');
    check(!(await ask({ op: 'is_locked', login: user.login })).locked, 'still locked');
}

const browser = await chromium.launch({
    executablePath: plan.chromium,
    headless: true,
    // Containers and CI run as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox'],
    timeout: 30000,
});

async function scenario(name, locale, fn) {
    // The gateway's certificate is from the test's own CA; the browser is told to accept it.
    const context = await browser.newContext({ locale, ignoreHTTPSErrors: true,
        viewport: { width: 390, height: 844 } }); // a phone
    context.setDefaultTimeout(STEP_TIMEOUT);
    const page = await context.newPage();
    try {
        await fn(page);
        passed.push(name);
        console.error(`ok ${name}`);
    } catch (e) {
        failures.push(`${name}: ${e.message}`);
        console.error(`FAIL ${name}: ${e.message}`);
        await page.screenshot({ path: join(plan.shots, `FAIL-${name}.png`), fullPage: true })
            .catch(() => null);
    } finally {
        await context.close();
    }
}

try {
    await scenario('enroll email + TOTP, then reset (en)', 'en-US', async (page) => {
        await page.goto(`${plan.base}/`);
        check(await lang(page) === 'en', 'English by Accept-Language');
        await expectText(page, msg('en', 'ui.title.home'), 'home');
        await inspect(page, 'en-home');
        const secret = await enroll(page, 'en', plan.users.en, 'en');
        await page.goto(`${plan.base}/`);
        await reset(page, 'en', plan.users.en, 'en', secret);
    });

    await scenario('the same in Korean (chosen with the switcher)', 'en-US', async (page) => {
        await page.goto(`${plan.base}/`);
        await page.locator('nav a[hreflang="ko"]').click();
        await page.waitForLoadState();
        check(await lang(page) === 'ko', 'Korean after the switcher');
        await inspect(page, 'ko-home');
        const secret = await enroll(page, 'ko', plan.users.ko, 'ko');
        check(await lang(page) === 'ko', 'the choice is remembered');
        await reset(page, 'ko', plan.users.ko, 'ko', secret);
    });

    await scenario('Korean by Accept-Language', 'ko-KR', async (page) => {
        await page.goto(`${plan.base}/change`);
        check(await lang(page) === 'ko', 'Korean by Accept-Language');
        await expectText(page, msg('ko', 'ui.password.rules_title'), 'rules on the change page');
        await inspect(page, 'ko-change');
    });

    await scenario('unlock (en)', 'en-GB', (page) => unlock(page, plan.users.unlock));

    await scenario('enroll SMS + questions, then reset with both (en)', 'en-US', async (page) => {
        await page.goto(`${plan.base}/`);
        await enrollSmsQuestions(page, plan.users.sms);
        await resetSmsQuestions(page, plan.users.sms);
    });
} finally {
    await browser.close();
}

process.stdout.write(JSON.stringify({ op: 'result', failures, passed,
    pages_checked: pagesChecked }) + '\n');
process.exit(failures.length ? 1 : 0);
