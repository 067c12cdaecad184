%header Utbildningsförvaltningen | Tjänsteutlåtande | Dnr UTBN 2025/1456
%footer Stockholms stad
%numbering auto
%headings styled
meta: Utbildningsförvaltningen | Tjänsteutlåtande
meta: Grundskoleavdelningen | Dnr UTBN 2025/1456
= Remiss av motion om avgiftsfri simundervisning för alla elever i årskurs 3
Svar på remiss från kommunstyrelsen, Dnr KS 2025/277
== Förvaltningens förslag till beslut @forslag
1. Utbildningsnämnden godkänner förvaltningens tjänsteutlåtande som svar på remissen.
== Sammanfattning @sammanfattning
I motionen föreslås att alla elever i årskurs 3 ska erbjudas avgiftsfri simundervisning i stadens simhallar. Utbildningsförvaltningen delar motionärernas mål att alla elever ska kunna simma.
Förvaltningen bedömer att målet bäst nås genom att skolorna får stöd att planera simundervisningen tidigare och att idrottsnämnden avsätter simhallstider för skolorna.
== Bakgrund @bakgrund
Enligt kursplanen i idrott och hälsa ska eleverna senast i årskurs 6 kunna simma 200 meter, varav 50 meter på rygg.
== Ärendet @arendet
Motionärerna pekar på att andelen elever som inte når simkunnighetsmålet är betydligt högre i vissa stadsdelar än i andra.
== Ärendets beredning @beredning
Ärendet har beretts av grundskoleavdelningen i samråd med idrottsförvaltningen.
== Förvaltningens synpunkter och förslag @synpunkter
Simundervisningen är redan i dag avgiftsfri för eleverna. Det som saknas är främst simhallstider under skoldagen och transporter för skolor som ligger långt från en simhall.
Förvaltningen föreslår att frågan om simhallstider tas upp i den gemensamma planeringen med idrottsförvaltningen inför läsåret 2026/27.
~ Anders Karlsson / Utbildningsdirektör / Utbildningsförvaltningen
== Bilagor @bilagor
1. Motion om avgiftsfri simundervisning för alla elever i årskurs 3
2. Sammanställning av simkunnighet per stadsdelsområde
