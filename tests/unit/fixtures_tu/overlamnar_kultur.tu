%header Kulturförvaltningen | Tjänsteutlåtande | Dnr KUN 2025/1120
%footer Stockholms stad
%numbering auto
%headings bold
meta: Kulturförvaltningen | Tjänsteutlåtande
meta: Stadsbiblioteket | Dnr KUN 2025/1120
= Remiss av motion om längre öppettider på stadens bibliotek
Svar på remiss från kommunstyrelsen, Dnr KS 2025/389
== Förvaltningens förslag till beslut @forslag
1. Kulturnämnden överlämnar tjänsteutlåtandet som svar på remissen till kommunstyrelsen.
2. Ärendet justeras omedelbart.
== Sammanfattning @sammanfattning
Motionärerna vill att stadens bibliotek ska hålla öppet till klockan 21 alla vardagar och att meröppna bibliotek ska finnas i varje stadsdelsområde.
Kulturförvaltningen ser positivt på längre öppettider men bedömer att förslaget kräver ett tillskott på cirka 40 miljoner kronor per år.
== Bakgrund @bakgrund
Stadsbiblioteket har i dag 42 filialer. Sedan år 2022 har sex filialer meröppet, vilket innebär att låntagare med lånekort och kod kan använda lokalerna utan personal.
== Ärendet @arendet
Motionen lyfter att många invånare arbetar eller studerar dagtid och därför har svårt att besöka biblioteken under nuvarande öppettider.
== Ärendets beredning @beredning
Ärendet har beretts på Stadsbibliotekets ledningsstab. Samverkan har skett med de fackliga organisationerna.
== Förvaltningens synpunkter och förslag @synpunkter
Förvaltningen delar motionärernas uppfattning att biblioteken ska vara tillgängliga för fler. Erfarenheterna från meröppna bibliotek är goda och besöken har ökat med i genomsnitt 25 procent.
Barnrättsperspektiv
Barn och unga är bibliotekens största besöksgrupp efter skoltid. Längre öppettider gynnar framför allt unga som behöver en lugn plats för läxläsning.
| Cecilia Lindström / Kulturdirektör | Jonas Ahlberg / Stadsbibliotekarie |
== Bilagor @bilagor
1. Motion om längre öppettider på stadens bibliotek
2. Statistik över besök på meröppna bibliotek 2022–2024
