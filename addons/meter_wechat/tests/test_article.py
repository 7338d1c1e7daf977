"""The articles of the WeChat service: FAQ, living tips and convenience
information answer keywords and are shown on the pages."""
import re
import unittest

from trytond.i18n import gettext
from trytond.modules.meter_wechat.article import split_keywords
from trytond.modules.meter_wechat.reply import (
    LISTED_ARTICLES, Article, default_menu, default_reply_table, fill)
from trytond.modules.meter_wechat.exceptions import ArticleValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from . import test_routes
from .reply_texts import TEXTS
from .test_routes import ACCOUNT, TEXT

BASE_URL = 'https://wx.example.edu.cn/meter/'


class ArticleTextTestCase(unittest.TestCase):
    "The texts of the articles, without database"

    def test_split_keywords(self):
        self.assertEqual(
            split_keywords(' 停水 停电，通知、公告;  停水 '),
            ['停水', '停电', '通知', '公告'])
        self.assertEqual(split_keywords(None), [])
        for text in ['停水,,停电', '，停水', '停水、 、停电']:
            with self.subTest(text=text), self.assertRaises(ValueError):
                split_keywords(text)

    def test_fill_keeps_unknown(self):
        values = {'pay': BASE_URL + 'pay', 'phone': '110'}
        self.assertEqual(
            fill('<a href="{pay}">缴费</a> {phone} {unknown} {0} { {pay',
                values),
            '<a href="%spay">缴费</a> 110 {unknown} {0} { {pay' % BASE_URL)
        # Unlike str.format, nothing but the values can be reached
        self.assertEqual(
            fill('{pay.__class__}{pay[0]}', values),
            '{pay.__class__}{pay[0]}')

    def test_article_answer(self):
        "The reply is the summary with the link of the article's page"
        table = default_reply_table(BASE_URL, TEXTS, articles=[
                Article(['热水'], '热水请看<a href="{info}">这里</a>{bad}',
                    'info/7', title='热水')])
        answer = table.match('宿舍没有热水')
        self.assertEqual(
            answer.content(None, table),
            '热水请看<a href="%sinfo">这里</a>{bad}\n'
            '<a href="%sinfo/7">查看详情</a>' % (BASE_URL, BASE_URL))
        # Without a service phone {phone} still reads well
        phone = default_reply_table(BASE_URL, TEXTS, articles=[
                Article(['电话'], '值班电话：{phone}', 'info/8')])
        self.assertIn('值班电话：见“联系我们”页面',
            phone.match('电话').content(None, phone))

    def test_reserved_keywords(self):
        "An article can not take the words of the usage query"
        table = default_reply_table(BASE_URL, TEXTS, usage=lambda m, t: 'usage',
            articles=[Article(['用量', '用量说明'], 'article', 'info/1')])
        self.assertEqual(table.match('用量').content(None, table), 'usage')
        self.assertIn('info/1', table.match('用量说明').content(None, table))

    def test_listing_limited(self):
        "The welcome lists the first FAQ only: WeChat cuts long texts"
        articles = [
            Article(['问题%d' % i], 'answer', 'info/%d' % i,
                title='标题%d' % i, listed=True)
            for i in range(LISTED_ARTICLES + 3)]
        welcome = default_reply_table(BASE_URL, TEXTS, articles=articles).render(
            '{keywords}')
        self.assertIn('回复「问题0」标题0', welcome)
        self.assertIn('回复「问题%d」' % (LISTED_ARTICLES - 1), welcome)
        self.assertNotIn('回复「问题%d」' % LISTED_ARTICLES, welcome)
        self.assertIn('回复「便民」', welcome)

    def test_menu_limits(self):
        "WeChat takes at most 3 buttons of 5 sub-buttons"
        table = default_reply_table(BASE_URL, TEXTS)
        menu = default_menu(table)
        self.assertLessEqual(len(menu['button']), 3)
        urls = []
        for button in menu['button']:
            self.assertLessEqual(len(button.get('sub_button', [])), 5)
            urls += [b.get('url') for b in button.get('sub_button', [button])]
        self.assertIn(BASE_URL + 'info', urls)


class ArticleRouteTestCase(test_routes.WeChatRouteTestCase):
    """The articles through the callback and the pages, on the database
    and with the helpers of the route tests"""

    def create_article(self, **values):
        values.setdefault('title', "测试文章")
        with Transaction().start(DB_NAME, 0) as transaction:
            Article = Pool().get('meter.wechat.article')
            article, = Article.create([values])
            transaction.commit()
            return article.id

    def write_article(self, article_id, values):
        with Transaction().start(DB_NAME, 0) as transaction:
            Article = Pool().get('meter.wechat.article')
            Article.write([Article(article_id)], values)
            transaction.commit()

    def shipped(self, name):
        "The id of an article of article.xml"
        with Transaction().start(DB_NAME, 0):
            return Pool().get('ir.model.data').get_id(
                'meter_wechat', 'article_' + name)

    def message(self, content, nonce):
        body = TEXT.format(to=ACCOUNT, openid='oArticle', content=content)
        response = self.callback(body.encode(), nonce)
        self.assertEqual(response.status_code, 200, response.text)
        return response.text

    def test_keyword_until_deactivated(self):
        "A new article answers its keyword until it is deactivated"
        question = '开水房几点开门？'
        # Read once so that the answers are in the cache
        self.assertIn('没有理解', self.message(question, 'nonce-article-0'))
        article = self.create_article(
            category='info', title="开水房开放时间", keywords='开水房 打开水',
            summary='开水房开放时间见<a href="{contact}">联系我们</a>{typo}')
        text = self.message(question, 'nonce-article-1')
        self.assertIn('开水房开放时间见<a href="%s">联系我们</a>{typo}'
            % self.absolute_url('contact'), text)
        self.assertIn(self.absolute_url('info/%d' % article), text)
        self.write_article(article, {'active': False})
        text = self.message(question, 'nonce-article-2')
        self.assertNotIn(self.absolute_url('info/%d' % article), text)
        self.assertIn('没有理解', text)

    def test_shipped_keywords(self):
        "The shipped FAQ answer the keywords that were hard-coded"
        for content, name, page in [
                ('我要缴费', 'faq_pay', 'pay'),
                ('宿舍插座坏了要报修', 'faq_repair', 'repair'),
                ('明天停水吗', 'faq_outage', 'notices'),
                ('值班电话多少', 'faq_contact', 'contact'),
                ]:
            with self.subTest(content=content):
                text = self.message(content, 'nonce-shipped-' + name)
                self.assertIn(self.absolute_url(page), text)
                self.assertIn(
                    self.absolute_url('info/%d' % self.shipped(name)), text)
        text = self.message('值班电话', 'nonce-shipped-phone')
        self.assertIn('010-12345678', text)
        welcome = self.message('你好', 'nonce-shipped-help')
        self.assertIn('回复「缴费」怎样缴纳水电费？', welcome)

    def test_duplicate_keyword_refused(self):
        "A keyword answers with one active article only"
        pay_id = self.shipped('faq_pay')
        with Transaction().start(DB_NAME, 0):
            Article = Pool().get('meter.wechat.article')
            pay = Article(pay_id)
            with self.assertRaises(ArticleValidationError) as context:
                Article.create([{'title': "网上缴费", 'keywords': '网银 交费'}])
            self.assertEqual(context.exception.message, gettext(
                    'meter_wechat.msg_article_keyword_unique',
                    article="网上缴费", keyword='交费', other=pay.title))
            # Whatever the case, as the callback matches
            Article.create([{'title': "无线网", 'keywords': 'WiFi'}])
            with self.assertRaises(ArticleValidationError):
                Article.create([{'title': "无线", 'keywords': 'wifi'}])
            # An inactive article may keep it, until it is activated
            inactive, = Article.create([{'title': "旧缴费说明",
                        'keywords': '交费', 'active': False}])
            with self.assertRaises(ArticleValidationError):
                Article.write([inactive], {'active': True})
            for keywords, message in [
                    ('停车,,充电桩', 'msg_article_keyword_empty'),
                    ('用量', 'msg_article_keyword_reserved'),
                    ]:
                with self.subTest(keywords=keywords), \
                        self.assertRaises(ArticleValidationError) as context:
                    Article.create([{'title': "错误", 'keywords': keywords}])
                self.assertEqual(context.exception.message, gettext(
                        'meter_wechat.' + message, article="错误",
                        keywords=keywords, keyword=keywords))

    def test_info_page(self):
        "The convenience page lists the shipped articles by category"
        client = self.login('oInfoPage')
        response = client.get(self.url('info'))
        self.assertEqual(response.status_code, 200)
        text = response.text
        section = '<div class="weui-cells__title">%s</div>'
        positions = [text.index(s) for s in [
                section % '便民信息', '缴费渠道一览', '新生和新住户入住须知',
                section % '生活小贴士', '节约用水小妙招', '冬季水表和水管防冻',
                section % '常见问题', '怎样缴纳水电费？', '如何绑定户号？']]
        self.assertEqual(positions, sorted(positions))
        self.assertIn(
            'href="%s"' % self.quoted_url(
                'info/%d' % self.shipped('tip_frost')), text)

    def test_article_page_escaped(self):
        "The body shows as plain text paragraphs, known pages as links"
        article = self.create_article(category='tip', title="<b>标题</b>",
            body='第一段 <script>alert(1)</script>\n第一段第二行'
            '\n\n  \n第二段见{pay}与{nowhere}')
        client = self.login('oArticlePage')
        response = client.get(self.url('info/%d' % article))
        self.assertEqual(response.status_code, 200)
        text = response.text
        self.assertNotIn('<script>alert', text)
        self.assertNotIn('<b>标题', text)
        self.assertIn('&lt;b&gt;标题&lt;/b&gt;', text)
        body = re.search(r'<div class="weui-article article">(.*?)</div>',
            text, re.S).group(1)
        self.assertEqual(re.findall(r'<p>(.*?)</p>', body, re.S), [
                '第一段 &lt;script&gt;alert(1)&lt;/script&gt;\n第一段第二行',
                '第二段见<a href="%s">在线缴费</a>与{nowhere}'
                % self.quoted_url('pay'),
                ])

    def test_article_not_found(self):
        "Inactive and missing articles are pages not found"
        inactive = self.create_article(body="下线的文章", active=False)
        client = self.login('oArticleMissing')
        for article_id in [inactive, inactive + 1000, 10 ** 20]:
            with self.subTest(article_id=article_id):
                response = client.get(self.url('info/%d' % article_id))
                self.assertEqual(response.status_code, 404)
                self.assertNotIn('下线的文章', response.text)
        shown = self.create_article(body="上线的文章")
        response = client.get(self.url('info/%d' % shown))
        self.assertEqual(response.status_code, 200)
        self.assertIn('上线的文章', response.text)

    def test_contact_faq(self):
        "The contact page lists the FAQ of the table, not the tips"
        client = self.login('oContactFaq')

        def faq():
            text = client.get(self.url('contact')).text
            return text[text.index('常见问题'):]
        self.assertIn('怎样缴纳水电费？', faq())
        self.assertIn('href="%s"' % self.quoted_url(
                'info/%d' % self.shipped('faq_bind')), faq())
        self.assertNotIn('节约用水小妙招', faq())
        article = self.create_article(category='faq', title="洗衣房怎么付费？")
        self.assertIn('洗衣房怎么付费？', faq())
        self.write_article(article, {'title': "洗衣房如何付费？"})
        self.assertIn('洗衣房如何付费？', faq())
        self.assertNotIn('洗衣房怎么付费？', faq())


def load_tests(loader, tests, pattern):
    """The tests of this file: ArticleRouteTestCase inherits the database
    and helpers of the route tests, whose own tests run in test_routes"""
    suite = unittest.TestSuite()
    suite.addTests(loader.loadTestsFromTestCase(ArticleTextTestCase))
    for test in loader.loadTestsFromTestCase(ArticleRouteTestCase):
        if test._testMethodName in ArticleRouteTestCase.__dict__:
            suite.addTest(test)
    return suite
