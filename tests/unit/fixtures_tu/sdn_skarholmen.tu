%header Skärholmens stadsdelsförvaltning | Tjänsteutlåtande | Dnr SKÄ 2025/318
%footer Stockholms stad
%numbering literal
%headings styled
meta: Skärholmens stadsdelsförvaltning | Tjänsteutlåtande
meta: Avdelningen för förskola och fritid | Dnr SKÄ 2025/318
meta: Handläggare: Amina Yusuf | 2025-09-02
= Remiss av motion om fler parklekar i ytterstaden
Svar på remiss från kommunstyrelsen, Dnr KS 2025/512
== Stadsdelsförvaltningens förslag till beslut @forslag
1. Skärholmens stadsdelsnämnd godkänner stadsdelsförvaltningens tjänsteutlåtande som svar på remissen.
2. Ärendet justeras omedelbart.
== Sammanfattning @sammanfattning
Karin Ernlund (C) och Emilia Bjuggren (S) har i en motion föreslagit att staden ska bygga fler bemannade parklekar i ytterstaden och att stadsdelsnämnderna ska få ett särskilt uppdrag att utveckla verksamheten.
Stadsdelsförvaltningen delar motionärernas bild av parkleken som en viktig mötesplats för barnfamiljer. Förvaltningen anser dock att frågan om nya parklekar bör prövas i budgetarbetet och tillstyrker motionen i den delen.
== Bakgrund @bakgrund
Skärholmens stadsdelsförvaltning har fått motionen på remiss från kommunstyrelsen. Svaret ska ha kommit in senast den 30 september 2025.
== Ärendet @arendet
Motionärerna skriver att parklekarna i ytterstaden har blivit färre under de senaste tio åren, samtidigt som antalet barn i förskoleåldern har ökat i flera av stadsdelarna söder om Söderort.
I motionen föreslås att kommunfullmäktige ger stadsdelsnämnderna i uppdrag att inventera behovet av bemannade parklekar och att kommunstyrelsen tar fram en plan för finansieringen.
== Ärendets beredning @beredning
Ärendet har beretts inom avdelningen för förskola och fritid i samråd med avdelningen för stadsmiljö. Pensionärsrådet och rådet för funktionshinderfrågor har fått ärendet för kännedom.
== Stadsdelsförvaltningens synpunkter och förslag @synpunkter
Parkleken Bredäng och parkleken Sätra har i dag fler besökare än lokalerna är byggda för. Förvaltningen ser därför ett behov av ytterligare en bemannad parklek i stadsdelsområdet.
Ett utökat uppdrag behöver följas av en budget för personal och drift. Utan sådana medel skulle andra verksamheter för barn och unga behöva minska.
Förvaltningen föreslår att stadsdelsnämnden tillstyrker motionens första förslag och avstyrker det andra.
~ Lena Holmgren / Stadsdelsdirektör
== Bilagor @bilagor
1. Remiss från kommunstyrelsen, Dnr KS 2025/512
2. Motion om fler parklekar i ytterstaden
