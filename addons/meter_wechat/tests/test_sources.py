"""The Chinese of the suite has one source: zh_CN.po for every label and
message.  A Chinese string constant in Python code (docstrings and tests
aside) is a second source that drifts, so the few files that may hold
them are listed here, each with its reason."""
import ast
import os
import re
import unittest

ADDONS = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
# CJK ideographs, their punctuation and the full-width forms
CHINESE = re.compile('[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]')
# The files that may hold Chinese string constants, with why
ALLOWED = {
    'meter_billing/rules/billing_system.py': "the billing system's file formats: its "
        "column headers and the values it writes, as the operators' "
        "files have them",
    'meter_billing/rules/amount_words.py': "the amount in words (大写金额): the "
        "numerals and units are the format itself",
    'meter_billing/rules/wechatpay.py': "WeChat Pay's bill (downloadbill): "
        "the names of the columns read, as its header has them",
    'meter_devices/parsing.py': "the date formats of the handhelds' "
        "exported files",
    'meter_wechat/article.py': "the separators staff type between "
        "keywords (，、；)",
    'meter_field/user.py': "the word staff type between an office phone "
        "and its extension (转)",
    'meter_wechat/reply.py': "the words residents type to the official "
        "account (用量, 便民 …), matched as they are typed",
    }
# 308 before #12, whose target was 120; then 119, and 8 more for the
# columns of WeChat Pay's bill (#17), a format like the billing system's
MAX_CONSTANTS = 127


def docstrings(tree):
    "Return the ids of the docstring nodes of tree"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                    ast.AsyncFunctionDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant)):
                found.add(id(body[0].value))
    return found


def chinese_constants(source):
    """Return the Chinese string constants of the Python source, outside
    docstrings: each constant once, an f-string as one"""
    tree = ast.parse(source)
    skipped = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v for v in node.values if isinstance(v, ast.Constant)]
            skipped.update(id(v) for v in parts)
            if any(CHINESE.search(v.value) for v in parts):
                found.append(node)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in skipped and CHINESE.search(node.value)):
            found.append(node)
    return found


def python_files():
    "Yield the paths relative to addons/ of the Python code, tests aside"
    for directory, names, files in os.walk(ADDONS):
        names[:] = sorted(n for n in names
            if n not in {'tests', 'node_modules', '__pycache__'})
        for name in sorted(files):
            if name.endswith('.py'):
                path = os.path.join(directory, name)
                yield os.path.relpath(path, ADDONS).replace(os.sep, '/')


def count_constants():
    "Return the number of Chinese string constants by file"
    counts = {}
    for path in python_files():
        with open(os.path.join(ADDONS, path), encoding='utf-8') as fp:
            found = chinese_constants(fp.read())
        if found:
            counts[path] = len(found)
    return counts


class ChineseConstantsTestCase(unittest.TestCase):
    "Test where the Chinese of the Python code is"

    def test_counter(self):
        "Constants are counted, docstrings and f-strings as the rule says"
        source = (
            '"""模块说明"""\n'
            'def f():\n'
            '    "函数说明"\n'
            '    return "中文", f"第{1}阶梯", "plain", "（", 1\n')
        self.assertEqual(len(chinese_constants(source)), 3)

    def test_only_allowed_files(self):
        "Only the listed files hold Chinese string constants"
        counts = count_constants()
        self.assertTrue(counts)
        others = sorted(set(counts) - set(ALLOWED))
        self.assertEqual(others, [], "Chinese belongs in message.xml and "
            "zh_CN.po, or give the file its reason in ALLOWED")

    def test_total(self):
        "The Chinese string constants do not grow back"
        total = sum(count_constants().values())
        self.assertLessEqual(total, MAX_CONSTANTS)

    def test_reasons(self):
        "Every allowed file exists and has its reason"
        for path, reason in ALLOWED.items():
            with self.subTest(path=path):
                self.assertTrue(
                    os.path.exists(os.path.join(ADDONS, path)), path)
                self.assertTrue(reason.strip())


if __name__ == '__main__':
    unittest.main()
