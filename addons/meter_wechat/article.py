import re
from collections import defaultdict

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, fields, sequence_ordered)

from . import reply
from .exceptions import ArticleValidationError

CATEGORIES = [
    ('faq', "FAQ"),
    ('tip', "Living Tip"),
    ('info', "Convenience Information"),
    ]
# Staff type Chinese or Western punctuation, with or without spaces
_PUNCTUATION = re.compile(r'\s*[,，、;；]\s*')


def split_keywords(text):
    """Return the keywords of text, separated by spaces, commas or 、.

    Raise ValueError when a separator has no keyword on one side (',,'
    or a leading comma): it is a typing mistake staff should see.
    """
    text = (text or '').strip()
    if not text:
        return []
    words = []
    for part in _PUNCTUATION.split(text):
        if not part:
            raise ValueError(text)
        for word in part.split():
            if word not in words:
                words.append(word)
    return words


class Article(DeactivableMixin, sequence_ordered(), ModelSQL, ModelView):
    """A page of the WeChat service kept by staff (便民服务).

    Frequently asked questions, living tips and convenience information
    are one list: the pages show them by category and a text message
    containing one of the keywords of an active article is answered with
    its summary and a link to its page.  They are the same for every
    resident: what concerns one campus or building, and for a time, is a
    notice (meter.notice), and each campus' offices and hours are on the
    contact page.
    """
    __name__ = 'meter.wechat.article'
    _rec_name = 'title'
    category = fields.Selection(
        CATEGORIES, "Category", required=True, sort=False)
    title = fields.Char("Title", required=True)
    summary = fields.Text(
        "Summary", size=500,
        help="The reply to a message containing a keyword, followed by a "
        "link to the page.\n"
        "It may link pages with <a href=\"{pay}\">…</a>: {usage}, {pay}, "
        "{repair}, {notice}, {contact}, {bind}, {reading}, {requests}, "
        "{info}; {name} and {phone} are the service's name and phone.")
    body = fields.Text(
        "Body",
        help="The text of the page; an empty line starts a new paragraph "
        "and {pay}, {repair}… become links to these pages.")
    keywords = fields.Char(
        "Keywords",
        help="Words separated by spaces, commas or 、: a message containing "
        "one of them is answered with this article, the longest word "
        "first.")
    _index_cache = Cache('meter.wechat.article.index', context=False)

    @classmethod
    def default_category(cls):
        return 'faq'

    @classmethod
    def validate_fields(cls, articles, field_names):
        super().validate_fields(articles, field_names)
        if field_names & {'keywords', 'active'}:
            cls.check_keywords(articles)

    @classmethod
    def check_keywords(cls, articles):
        """Check that every keyword is a word, not reserved for a computed
        answer and answered by one active article only."""
        reserved = {w.lower() for w in reply.RESERVED_KEYWORDS}
        owners = defaultdict(list)
        for article in cls.search([
                    ('active', '=', True),
                    ('keywords', '!=', None),
                    ]):
            for word in article.keyword_list():
                owners[word.lower()].append(article)
        for article in articles:
            try:
                words = split_keywords(article.keywords)
            except ValueError:
                raise ArticleValidationError(gettext(
                        'meter_wechat.msg_article_keyword_empty',
                        article=article.rec_name,
                        keywords=article.keywords))
            for word in words:
                if word.lower() in reserved:
                    raise ArticleValidationError(gettext(
                            'meter_wechat.msg_article_keyword_reserved',
                            article=article.rec_name, keyword=word))
                others = [a for a in owners[word.lower()] if a != article]
                if article.active and others:
                    raise ArticleValidationError(gettext(
                            'meter_wechat.msg_article_keyword_unique',
                            article=article.rec_name, keyword=word,
                            other=others[0].rec_name))

    def keyword_list(self):
        "The keywords of the article, [] when mistyped"
        try:
            return split_keywords(self.keywords)
        except ValueError:
            return []

    @classmethod
    def create(cls, vlist):
        articles = super().create(vlist)
        cls._index_cache.clear()
        return articles

    @classmethod
    def write(cls, *args):
        super().write(*args)
        cls._index_cache.clear()

    @classmethod
    def delete(cls, articles):
        super().delete(articles)
        cls._index_cache.clear()

    @classmethod
    def index(cls):
        """Return the active articles in order as dictionaries of id,
        category, title, summary and keywords (the body left out).

        Read once per process and change: the callback answers every
        message from them.
        """
        index = cls._index_cache.get('index')
        if index is None:
            index = [{
                    'id': a.id,
                    'category': a.category,
                    'title': a.title,
                    'summary': a.summary or '',
                    'keywords': a.keyword_list(),
                    } for a in cls.search([('active', '=', True)])]
            cls._index_cache.set('index', index)
        return index

    @classmethod
    def reply_articles(cls):
        """Return the answers of the callback: the active articles with
        keywords, linked to their page; the FAQ are listed in the welcome
        and help texts."""
        return [reply.Article(
                a['keywords'], a['summary'], 'info/%d' % a['id'],
                title=a['title'], listed=a['category'] == 'faq')
            for a in cls.index() if a['keywords']]
