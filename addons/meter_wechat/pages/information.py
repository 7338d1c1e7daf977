"Information: notices, contacts, convenience services, tips and FAQ"
import re

from trytond.i18n import gettext

from ..labels import label
from ..reply import PAGES
from ..web import not_found, page, render

# The sections of the convenience services, by category of article
ARTICLE_SECTIONS = ('info', 'tip', 'faq')
_EMPTY_LINE = re.compile(r'\n[ \t\r]*\n')
_ARTICLE_LINK = re.compile(r'\{([a-z_]+)\}')
_TAG = re.compile(r'<[^>]*>')


def article_paragraphs(text):
    """Return the paragraphs of an article's text, separated by empty
    lines, as lists of (text, page): a link to page when page is set.

    The template escapes every text: staff write plain text and only the
    {name} of the pages (reply.PAGES) become links, with the text of the
    message msg_link_<name>.
    """
    paragraphs = []
    for block in _EMPTY_LINE.split(text or ''):
        parts = _ARTICLE_LINK.split(block.strip())
        segments = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                if part:
                    segments.append((part, None))
            elif part in PAGES:
                segments.append((
                        gettext('meter_wechat.msg_link_%s' % part),
                        PAGES[part]))
            else:
                segments.append(('{%s}' % part, None))
        if segments:
            paragraphs.append(segments)
    return paragraphs


@page('notices', registered=False)
def notices(request, pool, visitor, values):
    "The published notices of the resident's campuses and buildings"
    Notice = pool.get('meter.notice')
    accounts = visitor.accounts
    notices = Notice.search(Notice.current_domain(
            campuses={a.campus.id for a in accounts},
            locations={a.location.id for a in accounts if a.location}),
        limit=50)
    return render(request, 'notices.html', notices=notices, **values)


@page('contact', registered=False)
def contact(request, pool, visitor, values):
    Campus = pool.get('meter.campus')
    Article = pool.get('meter.wechat.article')
    return render(
        request, 'contact.html', campuses=Campus.search([]),
        faqs=[a for a in Article.index() if a['category'] == 'faq'],
        **values)


@page('info', registered=False)
def info(request, pool, visitor, values):
    "The convenience services (便民服务): the articles by category"
    Article = pool.get('meter.wechat.article')
    articles = Article.index()
    sections = [(label(Article.__name__, 'category', category),
            [a for a in articles if a['category'] == category])
        for category in ARTICLE_SECTIONS]
    return render(request, 'info.html', sections=sections, **values)


@page('info/<record_id:article_id>', registered=False)
def info_article(request, pool, visitor, values, article_id):
    Article = pool.get('meter.wechat.article')
    articles = Article.search([
            ('id', '=', article_id),
            ('active', '=', True),
            ], limit=1)
    if not articles:
        raise not_found('msg_article_not_found')
    article, = articles
    # Without a body the page shows the reply, its links as plain text
    text = article.body or _TAG.sub('', article.summary or '')
    return render(request, 'article.html', article=article,
        section=label(article, 'category'),
        paragraphs=article_paragraphs(text), **values)
