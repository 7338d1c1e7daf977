"""What the official account answers: the table of keywords, menu
clicks and handlers, the articles staff keep, and the standard table and
menu of the service centre.

Plain Python: the callback (callback.py) hands each message to a
ReplyTable and renders what it returns.
"""
import re
from urllib.parse import urlencode, urljoin

__all__ = [
    'Answer', 'Article', 'ReplyTable', 'PAGES', 'RESERVED_KEYWORDS',
    'LISTED_ARTICLES', 'TEXTS', 'FIELD_PAGES', 'fill',
    'default_reply_table', 'default_menu',
    ]

_PLACEHOLDER = re.compile(r'\{([A-Za-z_][A-Za-z0-9_]*)\}')
# The pages of the standard table by the name of their placeholder
PAGES = {
    'usage': 'usage',
    'pay': 'pay',
    'repair': 'repair',
    'notice': 'notices',
    'contact': 'contact',
    'bind': 'bind',
    'reading': 'reading',
    'requests': 'requests',
    'info': 'info',
    }
# The field staff's pages (meter_field), relative to the residents'
FIELD_PAGES = '../field/'
# The words of the answers computed here rather than kept as articles
USAGE_KEYWORDS = ('用量', '余额', '用电', '用水', '查询')
INFO_KEYWORDS = ('便民', '小贴士', '常见问题')
RESERVED_KEYWORDS = USAGE_KEYWORDS + INFO_KEYWORDS
_RESERVED = {w.lower() for w in RESERVED_KEYWORDS}
# The texts of the standard table and menu, by name: the ORM side gives
# them translated (Configuration.reply_texts, from message.xml)
TEXTS = (
    'service_name', 'details', 'listing', 'phone_unknown', 'usage',
    'usage_summary', 'info', 'info_summary', 'pay', 'repair', 'notice',
    'contact', 'contact_phone', 'welcome', 'help', 'error',
    'menu_utilities', 'menu_usage', 'menu_pay', 'menu_bind', 'menu_repair',
    'menu_guide', 'menu_notice', 'menu_contact', 'menu_info', 'menu_help',
    'menu_field')
# How many articles the welcome and help texts list: WeChat does not show
# a text reply over 2048 bytes
LISTED_ARTICLES = 6


class Answer:
    """One reply of the table.

    ``content`` is either a text template, formatted with the page URLs of
    the table (``{usage}``, ``{pay}`` …), ``{phone}``, ``{name}`` and
    ``{keywords}``; or a callable ``content(message, table)`` returning a
    text, a wechatpy reply, a list of articles or None for no reply.
    ``summary`` describes it in the welcome and help texts.
    """

    def __init__(self, content, summary=''):
        self.content = content
        self.summary = summary


def fill(template, values):
    """Replace the {name} of values in template, keep anything else as
    written.

    For the texts staff write: a mistyped placeholder or a lone brace
    stays in the answer rather than breaking it, and nothing but the
    values can be reached (no attribute or index as str.format allows).
    """
    def value(match):
        name = match.group(1)
        return str(values[name]) if name in values else match.group(0)
    return _PLACEHOLDER.sub(value, template)


class Article:
    """An answer staff keep as an article (meter.wechat.article).

    ``summary`` is the reply, filled as the table's templates by ``fill``;
    a link to ``page``, the whole article, follows it.  ``title``
    describes it in the welcome and help texts when it is ``listed``
    there.
    """

    def __init__(self, keywords, summary, page, title='', listed=False):
        self.keywords = list(keywords)
        self.summary = summary
        self.page = page
        self.title = title
        self.listed = listed

    def answer(self, listed=True):
        "Return the Answer of the table, in the welcome if listed too"
        def content(message, table):
            text = table.fill(self.summary) if self.summary else self.title
            return '%s\n<a href="%s">%s</a>' % (
                text, table.url(self.page), table.texts.get('details', ''))
        return Answer(content, self.title if listed and self.listed else '')


class ReplyTable:
    """What the account answers.

    ``keywords`` maps a word found in a text message to an ``Answer``
    (several words may share the same one), ``clicks`` maps the key of a
    menu button to an ``Answer`` and ``handlers`` maps other message types
    ('image', 'location', 'voice', 'event:scan' …) to a callable
    ``handler(message, table)``.  Pages are given by name and path
    relative to ``base_url``.  ``texts`` are the table's own words (TEXTS):
    'details' links an article, 'listing' ({word}, {summary}) lists an
    answer in {keywords} and 'phone_unknown' stands for {phone} in the
    texts staff write when the service has none.
    """

    def __init__(
            self, base_url, pages=None, keywords=None, clicks=None,
            handlers=None, welcome='', help='', error='', name='',
            phone='', texts=None):
        if not base_url.endswith('/'):
            base_url += '/'
        self.base_url = base_url
        self.pages = dict(pages or {})
        self.keywords = dict(keywords or {})
        if not all(w.strip() for w in self.keywords):
            raise ValueError("empty keyword would match every message")
        self.clicks = dict(clicks or {})
        self.handlers = dict(handlers or {})
        self.welcome = welcome
        self.help = help
        self.error = error
        self.name = name
        self.phone = phone
        self.texts = dict(texts or {})
        # Longest first so that "停水通知" wins over "通知" (stable sort)
        self._words = sorted(self.keywords, key=len, reverse=True)
        self._values = self._compute_values()
        # Staff write {phone} whether or not the service has one
        self._staff_values = dict(
            self._values, phone=phone or self.texts.get('phone_unknown', ''))
        for answer in self._answers():
            if not callable(answer.content):
                self.render(answer.content)
        for template in (welcome, help, error):
            self.render(template)

    def url(self, page, **query):
        "Return the absolute URL of the named page"
        url = urljoin(self.base_url, self.pages.get(page, page))
        if query:
            url += ('&' if '?' in url else '?') + urlencode(query)
        return url

    def _answers(self):
        seen = []
        for answer in list(self.keywords.values()) + list(
                self.clicks.values()):
            if answer not in seen:
                seen.append(answer)
        return seen

    def _listing(self):
        lines = []
        for answer in self._answers():
            words = [w for w, a in self.keywords.items() if a is answer]
            if words and answer.summary:
                lines.append(fill(
                        self.texts.get('listing', '{word} {summary}'),
                        {'word': words[0], 'summary': answer.summary}))
        return '\n'.join(lines)

    def _compute_values(self):
        values = {name: self.url(name) for name in self.pages}
        values.update(
            phone=self.phone, name=self.name, keywords=self._listing())
        return values

    def render(self, template):
        "Format template with the page URLs and the table's values"
        try:
            return template.format_map(self._values)
        except (KeyError, IndexError, ValueError, AttributeError) as exception:
            raise ValueError(
                "invalid reply template %r: %s" % (template, exception))

    def fill(self, template):
        "Format a text written by staff, see fill"
        return fill(template, self._staff_values)

    def match(self, text):
        "Return the answer for the text of a message or None"
        text = text.strip().lower()
        if not text:
            return None
        for word in self._words:
            if word.lower() == text:
                return self.keywords[word]
        for word in self._words:
            if word.lower() in text:
                return self.keywords[word]
        return None


def default_reply_table(
        base_url, texts, name=None, phone='', usage=None, articles=(),
        handlers=None):
    """Return the standard table of the service centre in the texts given
    (TEXTS, e.g. Configuration.reply_texts()).

    The keywords are answered by the articles (Article) staff keep, but
    the words of the usage query and of the convenience services page,
    which are computed here.  usage may be a callable giving a personal
    answer (for example the last readings of the account bound to the
    OpenID); without it the answer is a link to the page.  The menu
    buttons are answered with links to the pages.
    """
    answers = {
        'usage': Answer(usage or texts['usage'], texts['usage_summary']),
        'info': Answer(texts['info'], texts['info_summary']),
        }
    keywords = {w: answers['usage'] for w in USAGE_KEYWORDS}
    listed = 0
    for article in articles:
        answer = article.answer(listed=listed < LISTED_ARTICLES)
        listed += bool(answer.summary)
        for word in article.keywords:
            if word.strip() and word.lower() not in _RESERVED:
                keywords.setdefault(word, answer)
    keywords.update({w: answers['info'] for w in INFO_KEYWORDS})
    clicks = {
        'USAGE': answers['usage'],
        'PAY': Answer(texts['pay']),
        'REPAIR': Answer(texts['repair']),
        'NOTICE': Answer(texts['notice']),
        'CONTACT': Answer(texts['contact']
            + ('\n' + texts['contact_phone'] if phone else '')),
        'INFO': answers['info'],
        }
    return ReplyTable(
        base_url, pages=PAGES, keywords=keywords, clicks=clicks,
        handlers=handlers, phone=phone, texts=texts,
        name=texts['service_name'] if name is None else name,
        welcome=texts['welcome'], help=texts['help'], error=texts['error'])


def default_menu(table, link=None):
    """Return the custom menu (自定义菜单) matching default_reply_table,
    named in the table's texts.

    link turns a page URL into the URL of the button, typically the OAuth
    authorize URL that gives the page the resident's OpenID.
    """
    link = link or (lambda url: url)
    texts = table.texts

    def view(name, page):
        return {
            'type': 'view', 'name': texts[name],
            'url': link(table.url(page))}

    def click(name, key):
        return {'type': 'click', 'name': texts[name], 'key': key}
    return {
        'button': [
            {
                'name': texts['menu_utilities'],
                'sub_button': [
                    view('menu_usage', 'usage'),
                    view('menu_pay', 'pay'),
                    view('menu_bind', 'bind'),
                    ],
                },
            view('menu_repair', 'repair'),
            {
                'name': texts['menu_guide'],
                'sub_button': [
                    click('menu_notice', 'NOTICE'),
                    click('menu_contact', 'CONTACT'),
                    view('menu_info', 'info'),
                    click('menu_help', 'HELP'),
                    # 内部业务: the field staff's pages beside the residents'
                    view('menu_field', FIELD_PAGES),
                    ],
                },
            ],
        }
