"""个人信息: the member of staff's name, login, contact fields and WeChat
binding; they edit their contact fields, change their password and
unbind their WeChat"""
from trytond.exceptions import UserError
from trytond.modules.meter_wechat.web import (
    page, page_url, refusal, render)
from trytond.protocols.wrappers import HTTPStatus, redirect

from .common import FieldStaff

CONTACT_FIELDS = ('mobile', 'office_phone', 'email')
# What the page says once a change is done
DONE = {'contact', 'password', 'unbound'}


def _profile(request, visitor, values, status=HTTPStatus.OK, form=None,
        error=None, password_error=None):
    user = visitor.user
    if form is None:
        # Back from a login after the session expired: what was typed
        form = {name: request.args.get(name, getattr(user, name) or '')
            for name in CONTACT_FIELDS}
    done = request.args.get('done')
    return render(request, 'field/profile.html', status=status, form=form,
        error=error, password_error=password_error,
        done=done if done in DONE else None, **values)


@page('profile', visitor=FieldStaff)
def profile(request, pool, visitor, values):
    return _profile(request, visitor, values)


@page('profile', methods=('POST',), visitor=FieldStaff)
def profile_contact(request, pool, visitor, values):
    "Write the contact fields; refused, the form keeps what was typed"
    form = {name: request.form.get(name, '')[:254]
        for name in CONTACT_FIELDS}
    try:
        visitor.user.set_field_contact(**form)
    except UserError as exception:
        return _profile(request, visitor, values,
            status=HTTPStatus.BAD_REQUEST, form=form,
            error=refusal(exception))
    return redirect(page_url(request, 'profile', done='contact'))


@page('profile/password', methods=('POST',), visitor=FieldStaff)
def profile_password(request, pool, visitor, values):
    "Change the password: the old one checked, the new one twice"
    try:
        visitor.user.change_field_password(
            request.form.get('old_password', ''),
            request.form.get('new_password', ''),
            request.form.get('confirm_password', ''))
    except UserError as exception:
        return _profile(request, visitor, values,
            status=HTTPStatus.BAD_REQUEST,
            password_error=refusal(exception))
    return redirect(page_url(request, 'profile', done='password'))


@page('profile/unbind', methods=('POST',), visitor=FieldStaff)
def profile_unbind(request, pool, visitor, values):
    "Unbind the WeChat: the next visit from WeChat asks for the password"
    visitor.user.unbind_field_openid()
    return redirect(page_url(request, 'profile', done='unbound'))
