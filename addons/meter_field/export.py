"""The usage of a meter, an account or a building as an Excel workbook
for the office: plain Python, the texts given translated by the caller."""
import io
from decimal import Decimal

import xlsxwriter

__all__ = ['usage_workbook', 'table_workbook']


def usage_workbook(title, headers, rows):
    """Return the bytes of an XLSX workbook of one sheet: title in its
    first row, headers in its second, then rows of (month, kind, usage,
    unit), usage a Decimal written as a number with its decimals"""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {
            'in_memory': True,
            'strings_to_numbers': False,
            'strings_to_formulas': False,
            'strings_to_urls': False,
            })
    bold = workbook.add_format({'bold': True})
    header = workbook.add_format({
            'bold': True, 'bottom': 1, 'align': 'center',
            'bg_color': '#DDEBF7'})
    text = workbook.add_format({'num_format': '@'})
    numbers = {}

    def number_format(value):
        places = min(max(-value.as_tuple().exponent, 0), 3)
        if places not in numbers:
            numbers[places] = workbook.add_format({
                    'num_format': '0.' + '0' * places if places else '0'})
        return numbers[places]

    sheet = workbook.add_worksheet()
    sheet.write_string(0, 0, title, bold)
    for column, (name, width) in enumerate(zip(headers, (12, 10, 14, 8))):
        sheet.set_column(column, column, width)
        sheet.write_string(1, column, name, header)
    for index, (month, kind, usage, unit) in enumerate(rows, 2):
        sheet.write_string(index, 0, month, text)
        sheet.write_string(index, 1, kind, text)
        usage = Decimal(usage).normalize()
        sheet.write_number(index, 2, float(usage), number_format(usage))
        sheet.write_string(index, 3, unit, text)
    sheet.freeze_panes(2, 0)
    workbook.close()
    return output.getvalue()


def table_workbook(title, headers, rows):
    """Return the bytes of an XLSX workbook of one sheet: title in its
    first row, headers in its second, then rows of texts (a list such as
    the unread list of the rounds)"""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {
            'in_memory': True,
            'strings_to_numbers': False,
            'strings_to_formulas': False,
            'strings_to_urls': False,
            })
    bold = workbook.add_format({'bold': True})
    header = workbook.add_format({
            'bold': True, 'bottom': 1, 'align': 'center',
            'bg_color': '#DDEBF7'})
    text = workbook.add_format({'num_format': '@'})
    sheet = workbook.add_worksheet()
    sheet.write_string(0, 0, title, bold)
    for column, name in enumerate(headers):
        sheet.set_column(column, column, max(10, 2 * len(name) + 2))
        sheet.write_string(1, column, name, header)
    for index, row in enumerate(rows, 2):
        for column, value in enumerate(row):
            sheet.write_string(index, column, str(value), text)
    sheet.freeze_panes(2, 0)
    sheet.autofilter(1, 0, 1 + len(rows), len(headers) - 1)
    workbook.close()
    return output.getvalue()
