"""A small multi-country, multi-language news web for the story desk, served on loopback.

One HTTP server on 127.0.0.1 answers for every host below as a forward proxy (the crawler is
pointed at it with ``http_proxy``), so the pages keep real host names (``.com.mx``, ``.com``,
``.gov``, ``gob.mx``) and the crawler derives countries from their ccTLDs, as it would online.

Planted cases (state 1 = the first crawl, state 2 = the second):

- story A, an arrest in Culiacán: El Universal (mx, es, own report, first, 08:00), La Jornada
  (mx, es, own report, five detained where the others say four; in state 2 it says six),
  Milenio (declared mx, es, an AP translation), Border Herald (declared us, en, AP), Wire Daily
  (.com, country unknown, the same AP text); the US DOJ releases it at 15:00 (official, 7h
  after the press): the ``official`` flag, once.
- story B, a seizure in Tijuana: El Universal (EFE) and Milenio, Spanish and Mexican only.
- story C, an extradition announced by the SRE (gob.mx, official) that no outlet carried in
  state 1 (a ``new_story`` marked official); Border Herald carries it in state 2 (no
  ``official`` flag: the record came first).
- story E, a Treasury release on Chinese precursor brokers that nobody carries: a
  ``new_story`` marked official in state 1.
- story D, Treasury sanctions: Border Herald and El Universal in state 1; the Treasury's
  release appears in state 2 and raises the ``official`` flag then, once.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Page:
    host: str
    path: str
    title: str
    published: str
    lang: str
    site: str
    paragraphs: tuple[str, ...]
    states: tuple[int, ...] = (1, 2)


def _p(*paragraphs: str) -> tuple[str, ...]:
    return paragraphs


CULIACAN_AP_EN = _p(
    "CULIACAN, Mexico (AP) — Mexican soldiers arrested four people on Monday in Culiacán, "
    "Sinaloa, among them Jesús Ramírez Olvera, known as El Gato, a lieutenant of the Chapitos "
    "faction of the Sinaloa cartel, and seized 1.5 tons of methamphetamine at a ranch outside "
    "the city, Mexico's defense ministry said.",
    "Ramírez Olvera is wanted in the United States on fentanyl trafficking charges. The "
    "operation in Culiacán followed months of intelligence work with US agencies, officials "
    "said, and no shots were fired during the arrests at the ranch in Sinaloa.",
    "The Chapitos faction has been at war with rivals in Sinaloa since September, and the "
    "defense ministry said the methamphetamine was ready to be smuggled north to Arizona.",
)
PAGES: tuple[Page, ...] = (
    # -- story A: the arrest of El Gato in Culiacán ----------------------------------------------
    Page(
        "www.eluniversal.com.mx",
        "/nacion/detienen-a-el-gato-en-culiacan",
        "Detienen en Culiacán a Jesús Ramírez Olvera, El Gato, operador de Los Chapitos",
        "2026-03-02T08:00:00+00:00",
        "es",
        "El Universal",
        _p(
            "Elementos del Ejército detuvieron este lunes a cuatro personas en Culiacán, "
            "Sinaloa, entre ellas Jesús Ramírez Olvera, alias El Gato, operador de la facción de "
            "Los Chapitos del Cártel de Sinaloa, y aseguraron 1.5 toneladas de metanfetamina en "
            "un rancho a las afueras de la ciudad, informó la Defensa.",
            "Ramírez Olvera es requerido en Estados Unidos por tráfico de fentanilo. El "
            "operativo en Culiacán fue resultado de meses de trabajo de inteligencia con "
            "agencias estadounidenses, y no hubo disparos durante las detenciones en el rancho.",
            "La facción de Los Chapitos está en guerra con sus rivales en Sinaloa desde "
            "septiembre; la metanfetamina estaba lista para ser enviada a Arizona.",
        ),
    ),
    Page(
        "www.jornada.com.mx",
        "/politica/cae-el-gato-en-sinaloa",
        "Cae El Gato, operador de Los Chapitos, en un rancho de Culiacán",
        "2026-03-02T09:00:00+00:00",
        "es",
        "La Jornada",
        _p(
            "Militares detuvieron a cinco personas en un rancho de Culiacán, Sinaloa, entre ellas "
            "Jesús Ramírez Olvera, El Gato, operador de Los Chapitos del Cártel de Sinaloa, y "
            "aseguraron 1.5 toneladas de metanfetamina, según fuentes de la Defensa consultadas "
            "por este diario.",
            "Ramírez Olvera es buscado en Estados Unidos por tráfico de fentanilo. Vecinos del "
            "rancho en Culiacán relataron que el operativo duró cerca de dos horas y que no hubo "
            "disparos durante las detenciones.",
            "La guerra entre Los Chapitos y sus rivales en Sinaloa suma meses; la metanfetamina "
            "asegurada iba a ser enviada a Arizona, según la Defensa.",
        ),
        states=(1,),
    ),
    Page(
        "www.jornada.com.mx",
        "/politica/cae-el-gato-en-sinaloa",
        "Cae El Gato, operador de Los Chapitos, en un rancho de Culiacán",
        "2026-03-02T09:00:00+00:00",
        "es",
        "La Jornada",
        _p(
            "Militares detuvieron a seis personas en un rancho de Culiacán, Sinaloa, entre ellas "
            "Jesús Ramírez Olvera, El Gato, operador de Los Chapitos del Cártel de Sinaloa, y "
            "aseguraron 1.5 toneladas de metanfetamina, según fuentes de la Defensa consultadas "
            "por este diario.",
            "Ramírez Olvera es buscado en Estados Unidos por tráfico de fentanilo. Vecinos del "
            "rancho en Culiacán relataron que el operativo duró cerca de dos horas y que no hubo "
            "disparos durante las detenciones. Actualización: la Fiscalía informó por la tarde "
            "de un sexto detenido, un joven que custodiaba el laboratorio clandestino del "
            "rancho, y de la incautación de armas largas y vehículos con blindaje artesanal.",
            "La guerra entre Los Chapitos y sus rivales en Sinaloa suma meses; la metanfetamina "
            "asegurada iba a ser enviada a Arizona, según la Defensa.",
        ),
        states=(2,),
    ),
    Page(
        "www.milenio.com",
        "/policia/ejercito-detiene-a-el-gato-culiacan",
        "Ejército detiene a El Gato, de Los Chapitos, en Culiacán",
        "2026-03-02T10:30:00+00:00",
        "es",
        "Milenio",
        _p(
            "CULIACÁN, Sin. (AP) — Soldados mexicanos detuvieron el lunes a cuatro personas en "
            "Culiacán, Sinaloa, entre ellas Jesús Ramírez Olvera, conocido como El Gato, "
            "lugarteniente de la facción de Los Chapitos del Cártel de Sinaloa, y aseguraron 1.5 "
            "toneladas de metanfetamina en un rancho, informó la Defensa.",
            "Ramírez Olvera es buscado en Estados Unidos por cargos de tráfico de fentanilo. El "
            "operativo en Culiacán siguió a meses de trabajo de inteligencia con agencias de "
            "Estados Unidos, y no hubo disparos durante las detenciones en el rancho de Sinaloa.",
            "La facción de Los Chapitos está en guerra con sus rivales en Sinaloa desde "
            "septiembre; la metanfetamina estaba lista para ser enviada a Arizona.",
        ),
    ),
    Page(
        "www.borderherald.com",
        "/world/mexico-arrests-el-gato-culiacan",
        "Mexico arrests Chapitos lieutenant El Gato in Culiacán",
        "2026-03-02T10:00:00+00:00",
        "en",
        "Border Herald",
        CULIACAN_AP_EN,
    ),
    Page(
        "www.wiredaily.com",
        "/news/mexico-arrests-el-gato",
        "Mexico arrests Chapitos lieutenant El Gato in Culiacán",
        "2026-03-02T11:00:00+00:00",
        "en",
        "Wire Daily",
        CULIACAN_AP_EN,
    ),
    Page(
        "www.justice.gov",
        "/opa/pr/arrest-jesus-ramirez-olvera-el-gato",
        "Statement on the arrest in Culiacán of Chapitos lieutenant Jesús Ramírez Olvera",
        "2026-03-02T15:00:00+00:00",
        "en",
        "Office of Public Affairs",
        _p(
            "The Justice Department welcomes the arrest by Mexican authorities in Culiacán, "
            "Sinaloa, of Jesús Ramírez Olvera, also known as El Gato, a lieutenant of the "
            "Chapitos faction of the Sinaloa cartel, and of three other people. Mexican soldiers "
            "seized 1.5 tons of methamphetamine at the ranch in Culiacán.",
            "Ramírez Olvera is charged in the District of Arizona with conspiracy to import "
            "fentanyl into the United States. The Department will seek his extradition from "
            "Mexico, and thanks the Mexican defense ministry for the operation in Sinaloa.",
        ),
    ),
    # -- story B: fentanyl pills at Tijuana (Mexican outlets only) -------------------------------
    Page(
        "www.eluniversal.com.mx",
        "/estados/aseguran-pastillas-de-fentanilo-en-tijuana-garita",
        "Aseguran 300 mil pastillas de fentanilo en la garita de Otay, Tijuana",
        "2026-03-04T12:00:00+00:00",
        "es",
        "El Universal",
        _p(
            "TIJUANA, BC (EFE).- Agentes de la Guardia Nacional aseguraron 300 mil pastillas de "
            "fentanilo ocultas en el piso de un tractocamión en la garita de Otay, en Tijuana, y "
            "detuvieron a dos hombres que las transportaban, informó la Guardia Nacional.",
            "El tractocamión había cruzado desde Ensenada con una carga de aguacate. Los perros "
            "entrenados de la Guardia Nacional detectaron las pastillas de fentanilo en un doble "
            "fondo del piso del remolque en la garita de Otay.",
            "Es el mayor aseguramiento de pastillas en Tijuana en lo que va del año.",
        ),
    ),
    Page(
        "www.milenio.com",
        "/policia/guardia-nacional-fentanilo-garita-otay",
        "Guardia Nacional halla 300 mil pastillas de fentanilo en la garita de Otay",
        "2026-03-04T13:00:00+00:00",
        "es",
        "Milenio",
        _p(
            "La Guardia Nacional aseguró 300 mil pastillas de fentanilo en un tractocamión "
            "cargado de aguacate en la garita de Otay, en Tijuana, y detuvo a dos hombres, "
            "informaron fuentes federales a este diario.",
            "Los perros entrenados detectaron las pastillas de fentanilo en un doble fondo del "
            "remolque, que había cruzado desde Ensenada hacia la garita de Otay en Tijuana.",
            "Las autoridades no han informado el destino final del cargamento en Estados Unidos.",
        ),
    ),
    # -- story C: an extradition the SRE announces first ------------------------------------------
    Page(
        "www.gob.mx",
        "/sre/prensa/extradicion-de-tres-operadores-del-cartel-del-noreste",
        "La SRE informa la extradición de tres operadores del Cártel del Noreste a Texas",
        "2026-03-05T16:00:00+00:00",
        "es",
        "SRE",
        _p(
            "La Secretaría de Relaciones Exteriores informa que el Gobierno de México concedió la "
            "extradición de tres presuntos operadores del Cártel del Noreste, Ramiro Treviño "
            "Salinas, Óscar Garza Lerma y Efrén Cantú Ríos, quienes fueron entregados a "
            "autoridades de Texas en el aeropuerto de Toluca.",
            "Los tres son requeridos por una corte federal de Laredo, Texas, por delitos contra "
            "la salud y tráfico de armas. La extradición se concedió conforme al tratado vigente "
            "entre México y Estados Unidos.",
        ),
    ),
    Page(
        "www.borderherald.com",
        "/world/mexico-extradites-three-cartel-del-noreste-texas",
        "Mexico extradites three Cártel del Noreste operatives to Texas",
        "2026-03-06T09:00:00+00:00",
        "en",
        "Border Herald",
        _p(
            "Mexico extradited three alleged operatives of the Cártel del Noreste, Ramiro "
            "Treviño Salinas, Óscar Garza Lerma and Efrén Cantú Ríos, to Texas, Mexico's foreign "
            "ministry said. The three were handed to US marshals at the airport in Toluca.",
            "They face charges in a federal court in Laredo, Texas, of drug trafficking and gun "
            "running for the Cártel del Noreste, according to the indictment.",
            "The extradition follows a request filed by prosecutors in Laredo last year.",
        ),
        states=(2,),
    ),
    # -- story E: a Treasury release nobody carries (its feed is never empty) ----------------------
    Page(
        "home.treasury.gov",
        "/news/press-releases/sanctions-precursor-brokers-shanghai",
        "Treasury Sanctions Shanghai Brokers Supplying Fentanyl Precursors",
        "2026-02-20T15:00:00+00:00",
        "en",
        "U.S. Department of the Treasury",
        _p(
            "Today, the Department of the Treasury's Office of Foreign Assets Control sanctioned "
            "two chemical brokers based in Shanghai and Wuhan that sold fentanyl precursor "
            "chemicals, including 4-AP and 1-boc-4-AP, to suppliers in Guatemala and Honduras.",
            "The brokers advertised the precursor chemicals on open marketplaces and shipped them "
            "in mislabeled parcels declared as dog food and industrial dye. Treasury said the "
            "two firms had shipped several tons of the chemicals through courier services over "
            "the past two years, and that their owners used front companies in Hong Kong.",
        ),
    ),
    # -- story D: Treasury sanctions; the release comes after the press ---------------------------
    Page(
        "www.borderherald.com",
        "/world/treasury-sanctions-cjng-timeshare-fraud-network",
        "Treasury sanctions CJNG timeshare fraud network in Puerto Vallarta",
        "2026-03-07T14:00:00+00:00",
        "en",
        "Border Herald",
        _p(
            "The US Treasury sanctioned four Mexican nationals and 13 companies in Puerto "
            "Vallarta that it said ran a timeshare fraud scheme for the Jalisco New Generation "
            "cartel, CJNG, moving more than $30 million from American retirees.",
            "The sanctions freeze any assets of the Puerto Vallarta network in the United States. "
            "Treasury officials said the CJNG uses timeshare fraud to diversify beyond fentanyl.",
            "Mexico's financial intelligence unit said it was reviewing the companies.",
        ),
    ),
    Page(
        "www.eluniversal.com.mx",
        "/cartera/tesoro-sanciona-red-de-fraude-de-tiempo-compartido-del-cjng",
        "Tesoro de EU sanciona a red de fraude de tiempo compartido del CJNG en Puerto Vallarta",
        "2026-03-07T16:00:00+00:00",
        "es",
        "El Universal",
        _p(
            "El Departamento del Tesoro de Estados Unidos sancionó a cuatro mexicanos y 13 "
            "empresas de Puerto Vallarta por un esquema de fraude de tiempo compartido del Cártel "
            "Jalisco Nueva Generación, CJNG, que movió más de 30 millones de dólares de jubilados "
            "estadounidenses.",
            "Las sanciones congelan los bienes de la red de Puerto Vallarta en Estados Unidos. El "
            "CJNG usa el fraude de tiempo compartido para diversificarse más allá del fentanilo.",
            "La Unidad de Inteligencia Financiera dijo que revisa a las empresas.",
        ),
    ),
    Page(
        "home.treasury.gov",
        "/news/press-releases/sanctions-cjng-timeshare-fraud-puerto-vallarta",
        "Treasury Sanctions CJNG Timeshare Fraud Network in Puerto Vallarta",
        "2026-03-08T02:00:00+00:00",
        "en",
        "U.S. Department of the Treasury",
        _p(
            "Today, the Department of the Treasury's Office of Foreign Assets Control sanctioned "
            "four Mexican nationals and 13 companies in Puerto Vallarta, Jalisco, that run a "
            "timeshare fraud scheme for the Cártel de Jalisco Nueva Generación (CJNG), which "
            "defrauded American retirees of more than $30 million.",
            "As a result of today's action, all property of the Puerto Vallarta network in the "
            "United States is blocked. The CJNG relies on timeshare fraud alongside fentanyl "
            "trafficking.",
        ),
        states=(2,),
    ),
)

SOURCES = {  # name: (host, extra config lines)
    "eluniversal": ("www.eluniversal.com.mx", ""),
    "jornada": ("www.jornada.com.mx", ""),
    "milenio": ("www.milenio.com", 'country = "mx"\nlanguage = "es"'),
    "borderherald": ("www.borderherald.com", 'country = "us"'),
    "wiredaily": ("www.wiredaily.com", ""),
    "us-doj": ("www.justice.gov", 'kind = "official"\ncountry = "us"\noutlet = "US DOJ"'),
    "us-treasury": (
        "home.treasury.gov",
        'kind = "official"\ncountry = "us"\noutlet = "US Treasury"',
    ),
    "sre": ("www.gob.mx", 'kind = "official"\noutlet = "SRE"'),
}


def config_text(database: str, webhook: str | None = None) -> str:
    hook = f'[notify]\nwebhook = "{webhook}"\n' if webhook else ""
    head = f'database = "{database}"\n\n[crawl]\ndelay = 0.0\nworkers = 1\nobey_robots = true\n'
    blocks = [head, hook]
    for name, (host, extra) in SOURCES.items():
        blocks.append(f'[[sources]]\nname = "{name}"\nfeeds = ["http://{host}/rss.xml"]\n{extra}\n')
    return "\n".join(blocks)


def _page_html(page: Page) -> str:
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    return (
        f'<!doctype html><html lang="{page.lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(page.title)} | {html.escape(page.site)}</title>"
        f'<meta property="og:site_name" content="{html.escape(page.site)}">'
        f'<meta property="og:title" content="{html.escape(page.title)}">'
        f'<meta property="article:published_time" content="{page.published}">'
        f"</head><body><header><nav><a href='/'>Inicio</a></nav></header><main><article>"
        f"<h1>{html.escape(page.title)}</h1>{body}</article></main>"
        f"<footer>© {html.escape(page.site)}</footer></body></html>"
    )


def _feed(host: str, state: int) -> str:
    items = []
    for page in PAGES:
        if page.host == host and state in page.states:
            items.append(
                f"<item><title>{html.escape(page.title)}</title>"
                f"<link>http://{host}{page.path}</link><guid>http://{host}{page.path}</guid></item>"
            )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{host}</title><link>http://{host}/</link>{''.join(items)}</channel></rss>"
    )


class DeskWeb(ThreadingHTTPServer):
    """Every host of the desk web, answered as a forward proxy on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, state: int = 1) -> None:
        self.state = state
        self.requests: list[str] = []
        self.posts: list[bytes] = []  # webhook deliveries (POST to any path)
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, url: str) -> tuple[int, str, str]:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path or "/"
        if path == "/robots.txt":
            return 200, "text/plain", "User-agent: *\nAllow: /\n"
        if path == "/rss.xml":
            return 200, "application/rss+xml", _feed(host, self.state)
        for page in PAGES:
            if page.host == host and page.path == path and self.state in page.states:
                return 200, "text/html; charset=utf-8", _page_html(page)
        return 404, "text/plain", "not found"


class _Handler(BaseHTTPRequestHandler):
    server: DeskWeb

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = (
            self.path
            if self.path.startswith("http")
            else f"http://{self.headers['Host']}{self.path}"
        )
        self.server.requests.append(url)
        status, kind, body = self.server.answer(url)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.server.posts.append(self.rfile.read(length))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass
