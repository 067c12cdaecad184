%header Socialförvaltningen | Tjänsteutlåtande | Dnr SN 2025/4711
%footer Stockholms stad
%numbering auto
%headings styled
= Remiss om Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina
Svar på remiss från kommunstyrelsen, Dnr KS 2025/348
== Förvaltningens förslag till beslut @forslag
1. Socialnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.
2. Ärendet justeras omedelbart.
== Sammanfattning @sammanfattning
Dennis Wedin (M), Jan Jönsson (L), Jonas Naddebo (C) och Nike Örbrink (KD) har lagt en motion i kommunfullmäktige om Stockholms stads stöd i återuppbyggnaden av Ukraina. Motionärerna lyfter behovet att öka stödet till Ukraina vilket de föreslår ska göras genom aktivering av vänortsavtalet mellan Stockholms stad och Kiev som en solidaritetshandling men också för att staden ska kunna hjälpa till med kompetens i samband med Kievs återuppbyggnad. Motionärerna föreslår också inrättande av en praxis för Stockholms stad som innebär att förvaltningar och bolag regelbundet inventerar, samlar ihop och donerar utrustning till återuppbyggandet av Ukraina.
Socialförvaltningen anser att mandatet för att fatta beslut i frågorna ligger på stadsövergripande nivå.
== Bakgrund @bakgrund
Socialförvaltningen har mottagit Dennis Wedin (M), Jan Jönsson (L), Jonas Naddebo (C) och Nike Örbrink (KD) motion om Stockholms stads stöd i återuppbyggnaden av Ukraina från Stadsledningskontoret för besvarande senast 2025-08-26.
== Ärendet @arendet
Bakgrunden till motionen är Rysslands invasionskrig av Ukraina som haft stor påverkan på landet samt inneburit att Europa och Sverige befinner sig i ett allvarlig säkerhetspolitiskt läge. Motionen lyfter att Sveriges kommuner och regioner genom lagen om vissa kommunala befogenheter har rätt att lämna internationellt bistånd i form av utrustning i begränsad omfattning, så länge som utrustningen inte längre krävs i den egna verksamheten. Lagen möjliggör även för kommuner och regioner att i skälig omfattning använda medel för att transportera och ställa i ordning utrustningen så att den kan tas i bruk. Motionen lyfter att detta är en möjlighet som region Stockholm använt och även Stockholms stad borde använda.
Baserat på detta föreslås det i motionen att kommunfullmäktige beslutar om att
1) Finansborgarrådet ger stadsdirektören i uppdrag att signera vänskapsavtalet med Kiev.
2) Att staden inrättar en praxis som ger förvaltningar och bolag i uppgift att vid nyinköp se över möjligheten att donera befintlig utrustning till återuppbyggnaden av Ukraina.
== Ärendets beredning @beredning
Ärendet har beretts vid avdelningen för beredskap och administration. Förvaltningsgruppen har behandlat ärendet den 20 augusti 2025. Rådet för funktionshinderfrågor har haft möjlighet att behandla ärendet den 21 augusti 2025.
== Förvaltningens synpunkter och förslag @synpunkter
Mandatet för att fatta beslut om motionärernas förslag ligger på stadsövergripande nivå. Förutsatt att ett beslut tas om att aktivera vänortsavtalet samt införa en praxis för att donera utrustning kommer socialförvaltningen bidra, utifrån de förutsättningar förvaltningen har, i det fortsatta arbetet.
Vid ett sådant beslut behöver formerna för arbetet förtydligas, exempelvis vad det är för typ av utrustning som är av relevans och hur och vem som ska transportera det som samlas ihop. Här vill socialförvaltningen betona säkerhetsfrågan för de personer som levererar utrustning till Ukraina.
| Veronica Carstorp Wolgast / Socialdirektör / Socialförvaltningen | Lisa Cadenius / Avdelningschef / Socialförvaltningen |
== Bilaga @bilagor
1. Motion om Stockholms stads stöd i återuppbyggnaden av Ukraina
