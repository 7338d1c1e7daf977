"The residents' accounts (户号) and their bindings"
from trytond.protocols.wrappers import HTTPStatus, redirect

from ..exceptions import BindingMismatchError, SubmissionError
from ..web import not_found, page, page_url, render


@page('', registered=False)
def home(request, pool, visitor, values):
    return render(request, 'home.html', **values)


@page('accounts')
def accounts(request, pool, visitor, values):
    Binding = pool.get('meter.wechat.binding')
    bindings = Binding.search([
            ('user', '=', visitor.id),
            ('state', 'in', ['pending', 'approved', 'rejected']),
            ])
    return render(request, 'accounts.html', bindings=bindings,
        message=request.args.get('message'), **values)


@page('bind', methods=('GET', 'POST'))
def bind(request, pool, visitor, values):
    Binding = pool.get('meter.wechat.binding')
    if request.method == 'POST':
        form = {
            'number': request.form.get('number', '').strip(),
            'verification': request.form.get('verification', '').strip(),
            }
        visitor.check_limit(pool, 'bind')
        try:
            Binding.request_number(
                visitor.user, form['number'], form['verification'])
        except SubmissionError as exception:
            if isinstance(exception, BindingMismatchError):
                visitor.check_limit(pool, 'bind_failure')
            return render(request, 'bind.html', status=HTTPStatus.BAD_REQUEST,
                error=exception.message, form=form, **values)
        return redirect(page_url(request, 'accounts', message='submitted'))
    return render(request, 'bind.html', error=None, form={}, **values)


@page('accounts/<record_id:binding_id>/unbind', methods=('POST',))
def unbind(request, pool, visitor, values, binding_id):
    Binding = pool.get('meter.wechat.binding')
    bindings = Binding.search([
            ('id', '=', binding_id),
            ('user', '=', visitor.id),
            ('state', 'in', ['pending', 'approved']),
            ])
    if not bindings:
        raise not_found('msg_binding_not_found')
    Binding.unbind(bindings)
    return redirect(page_url(request, 'accounts', message='unbound'))
