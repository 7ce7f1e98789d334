import Mustache

/// The console's templates (swift-mustache; `{{ }}` escapes HTML, `{{{ }}}` is used only
/// for HTML the console built itself). No external assets: styles are inline, scripts tiny.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in [("layout", layout), ("signin", signin), ("issued", issued), ("table", table), ("screen", screen), ("cards", cards), ("form", form)] {
            // The templates are constants of this file; one that does not parse is a bug here.
            templates[name] = try! MustacheTemplate(string: text)
        }
        return MustacheLibrary(templates: templates)
    }()

    static let style = """
        body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
        header{background:#1d2330;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
        header a{color:#cfd8ff;text-decoration:none;font-size:.9rem}header a.on{color:#fff;font-weight:600}
        header form{margin-left:auto}main{padding:1rem 1.5rem;max-width:1200px}
        .links{font-size:.8rem;padding:.4rem 1rem;background:#e9ecf2}.links a{margin-right:.8rem}
        table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1rem}
        th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e6ec;font-size:.9rem}
        th{background:#eef0f5}.cards{display:flex;gap:.8rem;flex-wrap:wrap}
        .card{background:#fff;border:1px solid #e3e6ec;padding:.6rem .9rem;min-width:9rem}
        .card b{display:block;font-size:1.3rem}.empty{color:#6b7280;font-style:italic}
        .error{background:#fde8e8;border:1px solid #f5b5b5;padding:.5rem .8rem}
        .secret{font-family:monospace;background:#fff8d6;padding:.5rem;border:1px solid #e9d36b}
        form.inline{display:inline}input,select,button,textarea{font-size:.9rem;margin:.15rem}
        .done{background:#e6f6ea;border:1px solid #9fd8ad;padding:.5rem .8rem}
        details.form{background:#fff;border:1px solid #e3e6ec;padding:.4rem 1rem;margin:.5rem 0}
        details.form summary{cursor:pointer;font-weight:600}
        label.field{display:block;margin:.3rem 0}label.field span{display:inline-block;min-width:11rem}
        label.field small{color:#6b7280;margin-left:.4rem}form.filters label{margin-right:.6rem}
        """

    static let layout = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{title}} · Weir</title>
        <meta name="viewport" content="width=device-width">{{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}<style>{{{style}}}</style>
        <script src="/admin/console.js" defer></script></head><body>
        <header><strong>Weir</strong>
        {{#nav}}<a href="{{href}}" {{#on}}class="on"{{/on}}>{{label}}</a>{{/nav}}
        {{#signedIn}}<form method="post" action="/admin/signout"><input type="hidden" name="_csrf" value="{{csrf}}">
        <span>{{principal}}{{#readOnly}} (read-only){{/readOnly}}</span> <button>Sign out</button></form>{{/signedIn}}
        </header>
        <div class="links">Links: <a href="/admin/api/tokens">Keys JSON</a><a href="/admin/api/usage/totals">Usage JSON</a>
        <a href="/admin/api/history">History JSON</a><a href="/health/ready">Health</a><a href="/admin/api/models">Models</a>
        <a href="/docs">API Docs</a><a href="/openapi.json">OpenAPI</a></div>
        <main><h1>{{title}}</h1>{{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}{{{content}}}</main></body></html>
        """

    static let signin = """
        <form method="post" action="/admin/signin">
        <p>Sign in with an admin token (scope admin.read, admin.write or admin.super).</p>
        <input type="password" name="token" placeholder="weir_…" autocomplete="off" size="60" autofocus required>
        <button id="signin">Sign in</button></form>
        """

    /// A screen: its sections, rendered one by one (`html`), and the message of a form done.
    static let screen = """
        {{#intro}}<p>{{intro}}</p>{{/intro}}{{#done}}<p class="done" role="status">{{done}}</p>{{/done}}{{{html}}}
        """

    static let cards = """
        <h2>{{title}}</h2>{{#error}}<p class="error">{{error}}</p>{{/error}}
        <div class="cards">{{#cards}}<div class="card">{{label}}<b>{{value}}</b></div>{{/cards}}</div>
        {{#partial}}<p class="error">Nodes {{partial}} did not answer: the figures leave out their requests.</p>{{/partial}}
        """

    /// A filtered, paged table: `filters` ({name, label, value or options}), `keep` (the
    /// page's other parameters), `columns`, `rows` ({cells, actions, link}), `next`.
    static let table = """
        <section id="{{id}}-section">{{#title}}<h2>{{title}}</h2>{{/title}}
        {{#hasFilters}}<form class="filters" method="get" action="{{path}}#{{id}}">{{#keep}}<input type="hidden" name="{{name}}" value="{{value}}">{{/keep}}
        {{#filters}}<label title="{{hint}}">{{label}} {{^choice}}<input name="{{name}}" value="{{value}}">{{/choice}}
        {{#choice}}<select name="{{name}}">{{#options}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/options}}</select>{{/choice}}</label> {{/filters}}
        <button>Filter</button> <a href="{{reset}}">Reset</a></form>{{/hasFilters}}
        <table id="{{id}}"><tr>{{#columns}}<th>{{.}}</th>{{/columns}}<th></th></tr>
        {{#failure}}<tr><td colspan="{{span}}" class="error">Could not load: {{failure}}</td></tr>{{/failure}}
        {{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}<td>{{#links}}<a href="{{href}}">{{label}}</a> {{/links}}{{#actions}}<form class="inline" method="post" action="/admin/do/{{form}}">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="_back" value="{{back}}">{{#fields}}<input type="hidden" name="{{name}}" value="{{value}}">{{/fields}}
        <button data-confirm="{{label}} {{subject}}?">{{label}}</button></form>{{/actions}}</td></tr>{{/rows}}
        {{^failure}}{{^rows}}<tr><td colspan="{{span}}" class="empty">{{empty}}</td></tr>{{/rows}}{{/failure}}</table>
        {{#partial}}<p class="error">Nodes {{partial}} did not answer: their rows are missing.</p>{{/partial}}
        {{#next}}<a class="next" id="{{id}}-next" data-table="{{id}}" href="{{next}}">Load more</a>{{/next}}</section>
        """

    /// A form over an endpoint: `fields` ({name, label, hint, required, value, and options,
    /// textarea or type}).
    static let form = """
        <details class="form" id="form-{{id}}" {{#open}}open{{/open}}><summary>{{title}}</summary>{{#intro}}<p>{{intro}}</p>{{/intro}}
        {{#failure}}<p class="error">Could not load the current values: {{failure}}</p>{{/failure}}
        <form method="{{#get}}get{{/get}}{{^get}}post{{/get}}" action="{{action}}">{{^get}}<input type="hidden" name="_csrf" value="{{csrf}}">
        <input type="hidden" name="_back" value="{{back}}">{{#editing}}<input type="hidden" name="_edit" value="1">{{/editing}}{{/get}}
        {{#fields}}<label class="field"><span>{{label}}{{#required}} *{{/required}}</span>
        {{#choice}}<select name="{{name}}">{{#options}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/options}}</select>{{/choice}}
        {{#textarea}}<textarea name="{{name}}" rows="5" cols="60" {{#required}}required{{/required}}>{{value}}</textarea>{{/textarea}}
        {{#type}}<input type="{{type}}" name="{{name}}" value="{{value}}" {{#inputmode}}inputmode="{{inputmode}}"{{/inputmode}} {{#required}}required{{/required}} autocomplete="off">{{/type}}
        <small>{{hint}}</small></label>{{/fields}}
        <button id="submit-{{id}}">{{button}}</button></form></details>
        """

    static let issued = """
        <p>Token <b id="token-id">{{id}}</b> for {{principal}}. Its secret is shown this once: copy it now.</p>
        <p class="secret" id="secret">{{secret}}</p><p><a href="{{#back}}{{back}}{{/back}}{{^back}}/admin/keys{{/back}}">Back</a></p>
        """

    /// The console's one script, served from `/admin/console.js` (so the CSP's `'self'`
    /// allows it): a table's "Load more" link fetches the next page and appends its rows
    /// to the same table, lazily (without the script the link opens that page); a row's
    /// Delete, Revoke or Drain asks first.
    static let script = """
        "use strict";
        document.addEventListener("submit", (event) => {
          const button = event.submitter;
          if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
        });
        document.addEventListener("click", async (event) => {
          const link = event.target.closest("a.next[data-table]");
          if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
          event.preventDefault();
          if (link.dataset.loading) return;
          link.dataset.loading = "1";
          const id = link.dataset.table;
          const label = link.textContent;
          link.textContent = "Loading…";
          try {
            const response = await fetch(link.href, { credentials: "same-origin" });
            if (!response.ok) throw new Error("status " + response.status);
            const page = new DOMParser().parseFromString(await response.text(), "text/html");
            const source = page.getElementById(id);
            const target = document.getElementById(id);
            if (!source || !target) throw new Error("the table is missing from the next page");
            const body = target.tBodies[0] || target;
            source.querySelectorAll("tr").forEach((row, index) => {
              if (index > 0 && !row.querySelector("td.empty")) body.appendChild(document.importNode(row, true));
            });
            const next = page.getElementById(id + "-next");
            if (next) { link.href = next.getAttribute("href"); link.textContent = label; delete link.dataset.loading; }
            else link.remove();
          } catch (error) {
            link.textContent = "Could not load more (" + error.message + "); open the next page instead";
            link.removeAttribute("data-table");
            delete link.dataset.loading;
          }
        });
        """
}
